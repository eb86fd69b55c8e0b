// The practice app's shell: a menu that mirrors the seed's ("Termine", "Stammdaten", "Status") and the pages.
import { useState } from "preact/hooks";
import { logout, type Session } from "./client";
import { LegalNotice } from "./LegalNotice";
import { AccessLogPage } from "./AccessLog";
import { AppointmentsPage } from "./Appointments";
import { BillingPage, ContractPage } from "./Contract";
import { ConsultationPage } from "./Consultation";
import { DevicesPage } from "./Devices";
import { InvitationPage } from "./Invitation";
import { LoginPage } from "./Login";
import { RecoveryPage } from "./Recovery";
import { RegisterPage } from "./Register";
import { StatusPage } from "./Status";
import { UsersPage } from "./Users";
import { navigate, usePath } from "./router";

const MENU: [string, string][] = [
  ["/termine", "Termine"],
  ["/stammdaten/benutzer", "Benutzer"],
  ["/stammdaten/endgeraete", "Arbeitsplätze/Endgeräte"],
  ["/stammdaten/rechnungsdaten", "Rechnungsdaten"],
  ["/stammdaten/vertrag", "Vertrag"],
  ["/stammdaten/zugriffsprotokoll", "Zugriffsprotokoll"],
  ["/status", "Status"],
];
/** Only admins may read the access log (the API refuses everyone else), so only they see it in the menu. */
const ADMIN_ONLY = new Set(["/stammdaten/zugriffsprotokoll"]);

function Link({ href, children }: { href: string; children: string }) {
  return <a href={href} aria-current={location.pathname === href ? "page" : undefined}
    onClick={(e) => { e.preventDefault(); navigate(href); }}>{children}</a>;
}

export function App() {
  const path = usePath();
  const [session, setSession] = useState<Session | null>(null);

  let page;
  if (path === "/registrierung") page = <RegisterPage />;
  else if (path === "/status") page = <StatusPage />;
  else if (path === "/wiederherstellen") page = <RecoveryPage />;
  else if (!session && path === "/einladung") {
    page = <InvitationPage onLogin={(s) => { setSession(s); navigate("/termine"); }} />;
  } else if (!session) {
    if (path !== "/anmelden") queueMicrotask(() => navigate("/anmelden"));
    page = <LoginPage onLogin={(s) => { setSession(s); navigate("/termine"); }} />;
  } else if (path === "/termine") {
    page = <AppointmentsPage session={session} />;
  } else if (path.startsWith("/sprechstunde/")) {
    page = <ConsultationPage session={session} appointmentId={decodeURIComponent(path.slice("/sprechstunde/".length))} />;
  } else if (path === "/stammdaten/benutzer") {
    page = <UsersPage session={session} />;
  } else if (path === "/stammdaten/endgeraete") {
    page = <DevicesPage session={session} />;
  } else if (path === "/stammdaten/vertrag") {
    page = <ContractPage session={session} />;
  } else if (path === "/stammdaten/zugriffsprotokoll") {
    page = <AccessLogPage session={session} />;
  } else if (path === "/stammdaten/rechnungsdaten") {
    page = <BillingPage />;
  } else {
    const current = MENU.find(([href]) => href === path) ?? MENU[0];
    page = (
      <>
        <h1>{current[1]}</h1>
        <p>Angemeldet als {session.userShort} ({session.role === "admin" ? "Administrator" : "Mitarbeiter"}) bei{" "}
          {session.orgShort}. Schlüsselbund Version {session.keyring.version}.</p>
        <p class="hint">Dieser Bereich folgt in Kürze.</p>
      </>
    );
  }

  return (
    <>
      <header class="bar">
        <strong>Sprechzimmer</strong>
        {session && (
          <nav aria-label="Hauptmenü">
            <ul class="menu">
              {MENU.filter(([href]) => session.role === "admin" || !ADMIN_ONLY.has(href)).map(([href, label]) => <li><Link href={href}>{label}</Link></li>)}
              <li><button type="button" class="secondary" onClick={async () => {
                await logout().catch(() => undefined);
                setSession(null);
                navigate("/anmelden");
              }}>Abmelden</button></li>
            </ul>
          </nav>
        )}
      </header>
      <main>
        {session && <LegalNotice session={session}
          onAccepted={(pending) => setSession({ ...session, legalPending: pending })} />}
        {page}
      </main>
    </>
  );
}
