// Vertrag and Rechnungen, mirroring interfaces/client/contract.py: plan changes and the cancellation are
// sensitive actions, each signed by this device over a fresh server nonce bound to the organisation (§4.2).
import { api, apiFile } from "./api";
import type { Session } from "./client";
import { proof } from "./devices";

export interface Contract {
  plan: string;
  concluded_on: string;
  next_plan: string | null;
  next_plan_from: string | null;
  bank: { account_holder: string; iban: string; bic: string; mandate_reference: string;
    mandate_signed_on: string } | null;
  creditor_id: string;
  cancelled_on: string | null;
  ends_on: string | null;
  erasure_on: string | null;
  revocable: boolean;
  cancellation_ends_on: string | null;
  prices: Record<string, { per_user: string; per_sms: string }>;
}

export interface Invoice {
  number: string;
  month: string;
  issued_on: string;
  users: number;
  sms: number;
  net: string;
  vat: string;
  gross: string;
  mandate_reference: string;
}

export interface Bank {
  account_holder: string;
  iban: string;
  bic: string;
  sepa_mandate: boolean;
}

export const showContract = () => api<Contract>("GET", "/contract", undefined, true);

export async function upgrade(session: Session, bank: Bank): Promise<Contract> {
  return api("POST", "/contract/upgrade", { ...bank, proof: await proof(session, "contract-upgrade", session.orgId) },
    true);
}

export async function downgrade(session: Session): Promise<Contract> {
  return api("POST", "/contract/downgrade", { proof: await proof(session, "contract-downgrade", session.orgId) },
    true);
}

export async function cancel(session: Session, confirm: boolean): Promise<Contract> {
  return api("POST", "/contract/cancellation", {
    confirm, proof: await proof(session, "contract-cancel", session.orgId) }, true);
}

export const revoke = () => api<Contract>("DELETE", "/contract/cancellation", undefined, true);

export async function invoices(): Promise<Invoice[]> {
  return (await api<{ invoices: Invoice[] }>("GET", "/invoices", undefined, true)).invoices;
}

export const invoicePdf = (number: string) => apiFile(`/invoices/${encodeURIComponent(number)}/pdf`);

/** The SEPA mandate reference, stable per organisation (domain/contract.py Contract.mandate_reference). */
export const mandateReference = (orgId: string) => "SPZ-" + orgId.replace(/-/g, "").slice(0, 20).toUpperCase();

/** "2027-03-31" → "31.03.2027" (a calendar date, no time zone involved). */
export const deDate = (iso: string) => iso.split("-").reverse().join(".");

/** "19.00" → "19,00 €". */
export const euro = (amount: string) => `${amount.replace(".", ",")} €`;
