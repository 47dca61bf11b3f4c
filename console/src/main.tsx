import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import "./styles.css";
import { getKey, live, setKey } from "./api.js";
import { SignIn } from "./pages/signin.js";
import { JobsPage } from "./pages/jobs.js";
import { JobPage } from "./pages/job.js";
import { SubmitPage } from "./pages/submit.js";
import { RegionPage } from "./pages/region.js";
import { WebhooksPage } from "./pages/webhooks.js";

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/jobs");
  useEffect(() => {
    const f = () => setHash(location.hash || "#/jobs");
    addEventListener("hashchange", f);
    return () => removeEventListener("hashchange", f);
  }, []);
  return hash;
}

const NAV: [string, string][] = [
  ["#/jobs", "Jobs"],
  ["#/submit", "Submit a job"],
  ["#/region", "Region"],
  ["#/webhooks", "Webhooks"],
];

function App() {
  const [key, setKeyState] = useState(getKey());
  const [status, setStatus] = useState(live.status);
  const hash = useHash();
  useEffect(() => live.onStatus(setStatus), []);
  useEffect(() => {
    if (key) live.start();
    else live.stop();
  }, [key]);
  // a page change (not the first load) moves focus to the page heading, for screen readers and keyboards
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [hash]);

  if (!key) {
    return (
      <main id="main">
        <SignIn
          onSignedIn={(k) => {
            setKey(k);
            setKeyState(k);
            if (!location.hash) location.hash = "#/jobs";
          }}
        />
      </main>
    );
  }
  const signOut = () => {
    setKey(null);
    setKeyState(null);
  };
  const parts = hash.replace(/^#\/?/, "").split("/");
  let page;
  if (parts[0] === "jobs" && parts[1]) page = <JobPage id={parts[1]} />;
  else if (parts[0] === "submit") page = <SubmitPage />;
  else if (parts[0] === "region") page = <RegionPage />;
  else if (parts[0] === "webhooks") page = <WebhooksPage />;
  else page = <JobsPage />;
  const current = "#/" + (parts[0] || "jobs");
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.querySelector<HTMLElement>("main h1")?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">framefleet</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={current === href ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class={`live live-${status}`} role="status" aria-label={`Live updates: ${status}`}>
          {status === "live" ? "● Live" : status === "connecting" ? "○ Connecting" : "○ Offline"}
        </span>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main">{page}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
