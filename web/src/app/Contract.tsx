// Stammdaten → Vertrag and Rechnungsdaten (seed: "Vertrag", "Kündigung", "Widerruf der Kündigung"): the plan
// in force with its prices, the plan switch both ways, the cancellation with its end date shown before it is
// confirmed (the server's own date), its revocation, the bank data and the invoices as PDF.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Session } from "./client";
import { Alert, Field } from "./components";
import {
  cancel, type Contract, deDate, downgrade, euro, type Invoice, invoicePdf, invoices, mandateReference, revoke,
  showContract, upgrade,
} from "./contract";
import { navigate } from "./router";
import { bic as checkBic, iban as checkIban, required } from "./validation";

const PLAN_NAMES: Record<string, string> = { basis: "Sprechzimmer basis", plus: "Sprechzimmer plus" };
const PLAN_TEXT: Record<string, string> = {
  basis: "Für alle Organisationen, die regelmäßig eine Beratung per Videosprechstunde durchführen möchten.",
  plus: "Für alle Organisationen, die eine Beratung per Videosprechstunde mit erweiterten Funktionen und " +
    "Gruppengesprächen führen wollen: Einladung per SMS, Bildschirmübertragung, Konferenzen mit bis zu vier " +
    "Teilnehmern.",
};
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function Price({ contract, plan }: { contract: Contract; plan: string }) {
  const price = contract.prices[plan];
  if (!price) return null;
  return Number(price.per_user) === 0 ? <p><strong>{euro(price.per_user)}</strong> Grundgebühr pro Monat</p> : (
    <p><strong>{euro(price.per_user)}</strong> Grundgebühr pro Monat und Benutzer*, zzgl.{" "}
      {euro(price.per_sms)} pro SMS-Versand*</p>
  );
}

function useContract(): [Contract | null, (c: Contract) => void, string | null] {
  const [contract, setContract] = useState<Contract | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { showContract().then(setContract, (e) => setError(message(e))); }, []);
  return [contract, setContract, error];
}

function CancelDialog({ session, contract, onDone, onClose }:
  { session: Session; contract: Contract; onDone: (c: Contract) => void; onClose: () => void }) {
  const [confirmed, setConfirmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    // The server's message (domain/contract.py MSG_CONFIRM), checked here so no device proof is spent on it.
    if (!confirmed) {
      setError("Bitte bestätigen Sie die Kündigung und die anschließende Löschung Ihres Benutzerkontos.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onDone(await cancel(session, confirmed));
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div role="dialog" aria-labelledby="cancel-title" class="card">
      <h2 id="cancel-title">Vertrag kündigen und Daten löschen</h2>
      <p>Ihr aktueller Vertrag wird zum nächstmöglichen Zeitpunkt (3 Monate zum Quartalsende) gekündigt:{" "}
        <strong id="cancel-end">Ihr Vertrag endet zum {contract.cancellation_ends_on ? deDate(contract.cancellation_ends_on) : "–"}.</strong>{" "}
        Bis dahin können Sie Ihre bisherigen Funktionen in vollem Umfang nutzen. Sie erhalten zusätzlich eine
        Kündigungsbestätigung per E-Mail.</p>
      <p class="notice">Ihr Benutzerkonto und alle von Ihnen erfassten Daten werden nach Ablauf der Kündigungsfrist
        unwiderruflich gelöscht!</p>
      <div class="field">
        <label>
          <input type="checkbox" checked={confirmed}
            onChange={(e) => setConfirmed((e.currentTarget as HTMLInputElement).checked)} /> Hiermit bestätige ich
          die Kündigung und die anschließende Löschung meines Benutzerkontos.
        </label>
      </div>
      {error && <Alert>{error}</Alert>}
      <div class="actions">
        <button type="button" class="secondary" onClick={onClose}>Abbrechen</button>{" "}
        <button type="button" disabled={busy} onClick={submit}>Kündigung bestätigen</button>
      </div>
    </div>
  );
}

function UpgradeForm({ session, contract, onDone }:
  { session: Session; contract: Contract; onDone: (c: Contract) => void }) {
  const [values, setValues] = useState({ account_holder: "", iban: "", bic: "" });
  const [mandate, setMandate] = useState(false);
  const [touched, setTouched] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const problems: Record<string, string | null> = {
    account_holder: required(70)(values.account_holder), iban: checkIban(values.iban), bic: checkBic(values.bic),
    sepa_mandate: mandate ? null : "Bitte das SEPA-Lastschriftmandat erteilen.",
  };
  const shown = (key: string) => errors[key] ?? (touched ? problems[key] : null);
  const set = (key: string) => (value: string) => {
    setValues({ ...values, [key]: value });
    const { [key]: _, ...rest } = errors;
    setErrors(rest);
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    setTouched(true);
    if (Object.values(problems).some(Boolean)) return;
    setBusy(true);
    setError(null);
    try {
      onDone(await upgrade(session, { ...values, sepa_mandate: mandate }));
    } catch (e) {
      setError(message(e));
      if (e instanceof ApiError) setErrors(Object.fromEntries(Object.entries(e.errors).map(([k, m]) => [k, m.join(" ")])));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="upgrade-title">
      <h3 id="upgrade-title">Zu Sprechzimmer plus wechseln</h3>
      <p class="hint">Der Tarif plus gilt ab heute und wird monatlich per SEPA-Lastschrift abgerechnet.</p>
      <Field id="account_holder" label="Kontoinhaber" required value={values.account_holder}
        onInput={set("account_holder")} error={shown("account_holder")} />
      <Field id="iban" label="IBAN" required value={values.iban} onInput={set("iban")} error={shown("iban")} />
      <Field id="bic" label="BIC" required value={values.bic} onInput={set("bic")} error={shown("bic")} />
      <p>Gläubiger-Identifikationsnummer: <strong>{contract.creditor_id}</strong><br />
        Mandatsreferenz: <strong>{mandateReference(session.orgId)}</strong></p>
      <div class="field">
        <label>
          <input type="checkbox" id="sepa_mandate" checked={mandate} aria-invalid={shown("sepa_mandate") ? "true" : "false"}
            aria-describedby={shown("sepa_mandate") ? "sepa_mandate-error" : undefined}
            onChange={(e) => setMandate((e.currentTarget as HTMLInputElement).checked)} /> Ich erteile das
          SEPA-Lastschriftmandat: Ich ermächtige den Zahlungsempfänger, Zahlungen von meinem Konto mittels Lastschrift
          einzuziehen.
        </label>
        {shown("sepa_mandate") && <p id="sepa_mandate-error" class="field-error">{shown("sepa_mandate")}</p>}
      </div>
      {error && <Alert>{error}</Alert>}
      <div class="actions"><button type="submit" disabled={busy}>Zu plus wechseln</button></div>
    </form>
  );
}

function Switch({ session, contract, onDone }: { session: Session; contract: Contract; onDone: (c: Contract) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (contract.ends_on) {
    return <p class="hint">Der Vertrag ist gekündigt. Ein Tarifwechsel ist erst nach dem Widerruf der Kündigung
      möglich.</p>;
  }
  if (contract.next_plan) {
    return <p class="notice">Ab dem {deDate(contract.next_plan_from ?? "")} gilt der Tarif{" "}
      {PLAN_NAMES[contract.next_plan] ?? contract.next_plan}. Bis dahin können Sie alle Funktionen des Tarifs{" "}
      {contract.plan} nutzen.</p>;
  }
  const other = contract.plan === "plus" ? "basis" : "plus";
  return (
    <>
      <h3>{PLAN_NAMES[other]}</h3>
      <p>{PLAN_TEXT[other]}</p>
      <Price contract={contract} plan={other} />
      {other === "plus" ? <UpgradeForm session={session} contract={contract} onDone={onDone} /> : (
        <>
          {!confirming ? <button type="button" onClick={() => setConfirming(true)}>Zu basis wechseln</button> : (
            <div role="alertdialog" aria-labelledby="downgrade-title" class="notice">
              <p id="downgrade-title">Der Wechsel zum Tarif basis gilt zum Monatsende. Bis dahin bleiben alle
                Funktionen des Tarifs plus nutzbar; nach der letzten Abrechnung werden Ihre Bankdaten gelöscht.</p>
              <button type="button" class="secondary" onClick={() => setConfirming(false)}>Abbrechen</button>{" "}
              <button type="button" disabled={busy} onClick={async () => {
                setBusy(true);
                setError(null);
                try {
                  onDone(await downgrade(session));
                } catch (e) {
                  setError(message(e));
                } finally {
                  setBusy(false);
                }
              }}>Wechsel bestätigen</button>
            </div>
          )}
          {error && <Alert>{error}</Alert>}
        </>
      )}
    </>
  );
}

function RevokeDialog({ onDone, onClose }: { onDone: (c: Contract) => void; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div role="dialog" aria-labelledby="revoke-title" class="card">
      <h2 id="revoke-title">Kündigung widerrufen</h2>
      <p>Derzeit können Sie die Kündigung noch zurücknehmen. Bitte beachten Sie, dass auch die Kündigungsfrist
        zurückgesetzt wird.</p>
      {error && <Alert>{error}</Alert>}
      <div class="actions">
        <button type="button" class="secondary" onClick={onClose}>Abbrechen</button>{" "}
        <button type="button" disabled={busy} onClick={async () => {
          setBusy(true);
          try {
            onDone(await revoke());
          } catch (e) {
            setError(message(e));
          } finally {
            setBusy(false);
          }
        }}>Widerruf bestätigen</button>
      </div>
    </div>
  );
}

export function ContractPage({ session }: { session: Session }) {
  const [contract, setContract, error] = useContract();
  const [dialog, setDialog] = useState<"cancel" | "revoke" | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const changed = (text: string) => (c: Contract) => {
    setContract(c);
    setDialog(null);
    setDone(text);
  };
  return (
    <>
      <h1>Vertrag</h1>
      {error && <Alert>{error}</Alert>}
      {done && <p class="notice" role="status">{done}</p>}
      {contract && (
        <>
          {contract.ends_on && (
            <div class="notice" role="note">
              <p>Ihr Vertrag endet zum {deDate(contract.ends_on)}. Bis dahin können Sie alle Funktionen in vollem
                Umfang nutzen. Nach Ablauf der Kündigungsfrist werden Ihr Benutzerkonto und alle von Ihnen erfassten
                Daten unwiderruflich gelöscht!</p>
              {contract.revocable && dialog !== "revoke" &&
                <button type="button" class="secondary" onClick={() => setDialog("revoke")}>Kündigung widerrufen</button>}
            </div>
          )}
          {dialog === "revoke" && <RevokeDialog onClose={() => setDialog(null)}
            onDone={changed("Die Kündigung ist widerrufen. Eine Bestätigung wurde per E-Mail versandt.")} />}
          <section class="card" aria-labelledby="current-title">
            <h2 id="current-title">Mein aktueller Vertrag</h2>
            <h3>{PLAN_NAMES[contract.plan] ?? contract.plan}</h3>
            <p>{PLAN_TEXT[contract.plan]}</p>
            <Price contract={contract} plan={contract.plan} />
            <p class="hint">Vertragsbeginn: {deDate(contract.concluded_on)}</p>
            {!contract.ends_on && dialog !== "cancel" &&
              <button type="button" class="secondary" onClick={() => setDialog("cancel")}>Vertrag kündigen und Daten
                löschen</button>}
          </section>
          {dialog === "cancel" && <CancelDialog session={session} contract={contract} onClose={() => setDialog(null)}
            onDone={(c) => changed(`Die Kündigung ist eingegangen. Ihr Vertrag endet zum ${deDate(c.ends_on ?? "")}. ` +
              "Eine Kündigungsbestätigung wurde per E-Mail versandt.")(c)} />}
          <section class="card" aria-labelledby="switch-title">
            <h2 id="switch-title">Möglicher Vertragswechsel</h2>
            <Switch session={session} contract={contract} onDone={(c) => changed(c.next_plan
              ? `Der Wechsel ist vorgemerkt: ab dem ${deDate(c.next_plan_from ?? "")} gilt der Tarif ${c.next_plan}.`
              : `Ab heute gilt der Tarif ${c.plan}.`)(c)} />
          </section>
          <p class="hint">* alle Preise zzgl. Mehrwertsteuer / Abrechnung erfolgt monatlich.</p>
        </>
      )}
    </>
  );
}

async function download(invoice: Invoice): Promise<void> {
  const url = URL.createObjectURL(await invoicePdf(invoice.number));
  const a = document.createElement("a");
  a.href = url;
  a.download = `Rechnung-${invoice.number}.pdf`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function BillingPage() {
  const [contract, , error] = useContract();
  const [list, setList] = useState<Invoice[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  useEffect(() => { invoices().then(setList, (e) => setListError(message(e))); }, []);
  const bank = contract?.bank;
  return (
    <>
      <h1>Rechnungsdaten</h1>
      {error && <Alert>{error}</Alert>}
      {contract && (
        <section class="card" aria-labelledby="bank-title">
          <h2 id="bank-title">Bankverbindung und SEPA-Lastschriftmandat</h2>
          {bank ? (
            <dl>
              <dt>Kontoinhaber</dt><dd>{bank.account_holder}</dd>
              <dt>IBAN</dt><dd>{bank.iban}</dd>
              <dt>BIC</dt><dd>{bank.bic}</dd>
              <dt>Mandatsreferenz</dt><dd>{bank.mandate_reference}</dd>
              <dt>Mandat erteilt am</dt><dd>{deDate(bank.mandate_signed_on)}</dd>
              <dt>Gläubiger-Identifikationsnummer</dt><dd>{contract.creditor_id}</dd>
            </dl>
          ) : <p>Keine Rechnungsdaten hinterlegt: Der Tarif {contract.plan} ist kostenlos.</p>}
          <p>Aktueller Tarif: {PLAN_NAMES[contract.plan] ?? contract.plan}.{" "}
            <a href="/stammdaten/vertrag" onClick={(e) => { e.preventDefault(); navigate("/stammdaten/vertrag"); }}>
              Vertrag anzeigen, wechseln oder kündigen</a></p>
        </section>
      )}
      <section aria-labelledby="invoices-title">
        <h2 id="invoices-title">Rechnungen</h2>
        {listError && <Alert>{listError}</Alert>}
        {list === null ? (!listError && <p>Wird geladen …</p>) : list.length === 0 ? <p>Noch keine Rechnungen.</p> : (
          <table class="list">
            <caption class="visually-hidden">Rechnungen der Organisation</caption>
            <thead><tr><th scope="col">Nummer</th><th scope="col">Monat</th><th scope="col">Ausgestellt am</th>
              <th scope="col">Benutzer</th><th scope="col">SMS</th><th scope="col">Brutto</th>
              <th scope="col">PDF</th></tr></thead>
            <tbody>
              {list.map((inv) => (
                <tr key={inv.number}>
                  <td>{inv.number}</td>
                  <td>{inv.month.split("-").reverse().join("/")}</td>
                  <td>{deDate(inv.issued_on)}</td>
                  <td>{inv.users}</td>
                  <td>{inv.sms}</td>
                  <td>{euro(inv.gross)}</td>
                  <td><button type="button" class="secondary" onClick={() => void download(inv).catch((e) =>
                    setListError(message(e)))}>PDF herunterladen<span class="visually-hidden"> {inv.number}</span>
                  </button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
