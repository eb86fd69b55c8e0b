// The patient page (/join): its own small entry point, so patients load only what they need. For now the
// code form; the call itself follows (issue 12). The code may come in the URL fragment, which the browser
// never sends to the server.
import { render } from "preact";
import { useState } from "preact/hooks";
import { normaliseCode } from "../protocol/codes";
import "../styles/base.css";

const MSG_CODE = "Bitte den zwölfstelligen Zugangscode aus Ihrer Einladung eingeben (z. B. 7KWZ-AEAX-CT2A).";

function codeFromFragment(): string {
  const fragment = decodeURIComponent(location.hash.replace(/^#/, ""));
  const value = new URLSearchParams(fragment).get("code") ?? fragment;
  return normaliseCode(value) ? value : "";
}

function JoinPage() {
  const [code, setCode] = useState(codeFromFragment);
  const [error, setError] = useState<string | null>(null);
  const [checked, setChecked] = useState(false);

  const submit = (event: Event) => {
    event.preventDefault();
    const ok = normaliseCode(code) !== null;
    setError(ok ? null : MSG_CODE);
    setChecked(ok);
  };

  return (
    <>
      <header class="bar"><strong>Sprechzimmer</strong></header>
      <main>
        <h1>Videosprechstunde beitreten</h1>
        <div class="card">
          <p>Sie brauchen kein Benutzerkonto und müssen nichts installieren. Geben Sie den Zugangscode aus
            Ihrer Einladung ein.</p>
          <form onSubmit={submit} noValidate>
            <label for="code">Zugangscode</label>
            <input id="code" name="code" autocomplete="off" autocapitalize="characters" spellcheck={false}
              inputMode="text" placeholder="XXXX-XXXX-XXXX" value={code}
              aria-invalid={error ? "true" : "false"} aria-describedby={error ? "code-error" : "code-hint"}
              onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)} />
            {error
              ? <p id="code-error" class="field-error" role="alert">{error}</p>
              : <p id="code-hint" class="hint">Groß- und Kleinschreibung sowie Bindestriche spielen keine Rolle.</p>}
            <div class="actions"><button type="submit">Weiter</button></div>
          </form>
          {checked && (
            <p class="notice" role="status">Der Zugangscode hat das richtige Format. Die Videosprechstunde im
              Browser wird gerade eingerichtet; bitte nutzen Sie bis dahin den Weg, den Ihre Praxis Ihnen
              genannt hat.</p>
          )}
        </div>
      </main>
    </>
  );
}

render(<JoinPage />, document.getElementById("join")!);
