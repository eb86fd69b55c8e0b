import { usePath } from "./router";

export function App() {
  const path = usePath();
  return (
    <>
      <header class="bar"><strong>Sprechzimmer</strong></header>
      <main>
        <h1>Sprechzimmer</h1>
        <p data-path={path}>Die Praxis-Anwendung wird geladen.</p>
      </main>
    </>
  );
}
