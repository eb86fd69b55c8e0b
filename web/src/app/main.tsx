// The practice app: a German single-page app that is a full client of the zero-knowledge protocol.
import { render } from "preact";
import "../styles/base.css";
import { App } from "./App";

render(<App />, document.getElementById("app")!);
