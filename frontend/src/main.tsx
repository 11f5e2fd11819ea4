import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { startRouter } from "./lib/router";
import { captureTokenFromLocation } from "./lib/token";
import "./styles.css";

captureTokenFromLocation();
window.addEventListener("hashchange", captureTokenFromLocation);
startRouter();

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
