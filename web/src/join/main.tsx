// The patient page (/join): its own small entry point, so patients load only what they need. This module is
// the code form, the language switch and the legal links; everything with libsodium or WebRTC is imported
// once a code has been entered (Flow.tsx). The code may come in the URL fragment, which the browser never
// sends to the server.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { normaliseCode } from "../protocol/codes";
import "../styles/base.css";
import { browserLanguage, CATALOGUES, type Key, LANGUAGES, RTL, translate } from "./i18n";

interface FragmentCodes {
  code: string;
  callCode: string | null; // a conference's call code (the MAC key), when the invitation carries one
}

function codesFromFragment(): FragmentCodes {
  const fragment = decodeURIComponent(location.hash.replace(/^#/, ""));
  const params = new URLSearchParams(fragment);
  const value = params.get("code") ?? fragment;
  const call = params.get("call");
  return { code: normaliseCode(value) ? value : "", callCode: call && normaliseCode(call) ? call : null };
}

export type T = (key: Key, values?: Record<string, string>) => string;

type FlowModule = typeof import("./Flow");

function JoinPage() {
  const [lang, setLang] = useState(() => browserLanguage());
  const t: T = (key, values) => translate(lang, key, values);
  const [fragment] = useState(codesFromFragment);
  const [code, setCode] = useState(fragment.code);
  const [error, setError] = useState<string | null>(null);
  const [flow, setFlow] = useState<FlowModule | null>(null);
  const [started, setStarted] = useState<string | null>(null);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.documentElement.dir = RTL.has(lang) ? "rtl" : "ltr";
    document.title = `${translate(lang, "title")} – Sprechzimmer`;
  }, [lang]);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (normaliseCode(code) === null) {
      setError("code.invalid");
      return;
    }
    setError(null);
    setFlow(await import("./Flow"));
    setStarted(code);
  };

  let body;
  if (flow && started) {
    body = <flow.Flow code={started} callCode={fragment.callCode} t={t} lang={lang}
      onRestart={(key) => { setStarted(null); setError(key); }} />;
  } else {
    body = (
      <>
        <h1>{t("title")}</h1>
        <div class="card">
          <p>{t("intro")}</p>
          <form onSubmit={submit} noValidate>
            <label for="code">{t("code.label")}</label>
            <input id="code" name="code" autocomplete="off" autocapitalize="characters" spellcheck={false}
              inputMode="text" placeholder="XXXX-XXXX-XXXX" value={code} dir="ltr"
              aria-invalid={error ? "true" : "false"} aria-describedby={error ? "code-error" : "code-hint"}
              onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)} />
            {error
              ? <p id="code-error" class="field-error" role="alert">{t(error as Key)}</p>
              : <p id="code-hint" class="hint">{t("code.hint")}</p>}
            <div class="actions"><button type="submit">{t("next")}</button></div>
          </form>
        </div>
      </>
    );
  }

  return (
    <>
      <header class="bar">
        <strong>Sprechzimmer</strong>
        <label class="lang-switch">
          <span>{t("lang.label")} </span>
          <select value={lang} onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value)}>
            {LANGUAGES.map((l) => <option key={l} value={l} lang={l}>{CATALOGUES[l]["lang.name"]}</option>)}
          </select>
        </label>
      </header>
      <main>{body}</main>
      <footer class="links">
        <a href="/rechtliches/nutzungsbedingungen">{t("footer.terms")}</a>
        <a href="/rechtliches/datenschutz">{t("footer.privacy")}</a>
      </footer>
    </>
  );
}

render(<JoinPage />, document.getElementById("join")!);
