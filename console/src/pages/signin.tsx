import { useState } from "preact/hooks";
import { api, ApiError } from "../api.js";

export function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api("/v1/jobs?limit=1", { key: key.trim() });
      onSignedIn(key.trim());
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "The manager cannot be reached.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="signin">
      <h1 tabIndex={-1}>Sign in to framefleet</h1>
      <p>
        Use an API key (<code>framefleet apikey create</code>). It is kept in this tab only.
      </p>
      <form onSubmit={submit}>
        <label for="apikey">API key</label>
        <input
          id="apikey"
          name="apikey"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={key}
          aria-describedby={error ? "signin-error" : undefined}
          aria-invalid={error ? true : undefined}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        />
        {error && (
          <p id="signin-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </section>
  );
}
