import { useState } from "preact/hooks";
import { api, ApiError, type Job } from "../api.js";
import hlsDashLadder from "../../../examples/compositions/hls-dash-ladder.json";

/** Factory templates: the form fills in input, output and priority; the rest comes from the template. */
const TEMPLATES: Record<string, { label: string; make: (input: string, output: string) => Record<string, unknown> }> = {
  "hls-preview": {
    label: "HLS preview, 240p video only (fMP4)",
    make: (input, output) => ({
      apiVersion: "framefleet/v1",
      engine: { name: "ffmpeg", version: "5.1" },
      input: { uri: input },
      output: { uri: output },
      video: {
        codec: "h264",
        gopSeconds: 1,
        preset: "fastest",
        renditions: [{ name: "240p", height: 240, rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 450 } }],
      },
      packaging: { segmentSeconds: 1, hls: { segmentType: "fmp4" } },
    }),
  },
  "hls-small": {
    label: "HLS ladder, 360p + 240p with AAC audio (fMP4)",
    make: (input, output) => ({
      apiVersion: "framefleet/v1",
      engine: { name: "ffmpeg", version: "5.1" },
      input: { uri: input },
      output: { uri: output },
      video: {
        codec: "h264",
        gopSeconds: 1,
        preset: "fastest",
        renditions: [
          { name: "360p", height: 360, rateControl: { mode: "vbr", bitrateKbps: 800, maxrateKbps: 900 } },
          { name: "240p", height: 240, rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 450 } },
        ],
      },
      audio: { renditions: [{ name: "aac", bitrateKbps: 96, default: true }] },
      packaging: { segmentSeconds: 1, hls: { segmentType: "fmp4" } },
    }),
  },
  "hls-dash-ladder": {
    label: "HLS + DASH ladder, 1080p to 240p (examples/compositions/hls-dash-ladder.json)",
    // the shipped example itself, bundled at build time, so the console and the demo submit the same ladder
    make: (input, output) => ({ ...hlsDashLadder, input: { uri: input }, output: { uri: output } }),
  },
  "mp4-240p": {
    label: "MP4, 240p H.264 + AAC",
    make: (input, output) => ({
      apiVersion: "framefleet/v1",
      engine: { name: "ffmpeg", version: "5.1" },
      input: { uri: input },
      output: { uri: output },
      video: {
        renditions: [{ name: "small", height: 240, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 600 } }],
      },
      audio: { renditions: [{ name: "aac", bitrateKbps: 96 }] },
      packaging: { mp4: {} },
    }),
  },
};

export function SubmitPage() {
  const [template, setTemplate] = useState("hls-preview");
  const [input, setInput] = useState("store://local/inputs/source.mp4");
  const [output, setOutput] = useState(`store://local/outputs/console-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-")}/`);
  const [priority, setPriority] = useState(50);
  const [problem, setProblem] = useState<{ detail: string; errors: { field: string; reason: string }[] } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const job = await api<Job>("/v1/jobs", {
        method: "POST",
        body: { composition: TEMPLATES[template]!.make(input.trim(), output.trim()), priority },
      });
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      setProblem(err instanceof ApiError ? { detail: err.message, errors: err.problem.errors ?? [] } : { detail: String(err), errors: [] });
    } finally {
      setBusy(false);
    }
  };
  const fieldError = (prefix: string) =>
    problem?.errors
      .filter((x) => x.field.startsWith(prefix))
      .map((x) => x.reason)
      .join("; ");
  return (
    <section>
      <h1 tabIndex={-1}>Submit a job</h1>
      <form class="stack" onSubmit={submit} noValidate={false}>
        <label for="s-template">Template</label>
        <select id="s-template" value={template} onChange={(e) => setTemplate((e.target as HTMLSelectElement).value)}>
          {Object.entries(TEMPLATES).map(([k, t]) => (
            <option key={k} value={k}>
              {t.label}
            </option>
          ))}
        </select>
        <label for="s-input">Input</label>
        <input
          id="s-input"
          required
          pattern="store://.+"
          value={input}
          aria-describedby="s-input-help"
          onInput={(e) => setInput((e.target as HTMLInputElement).value)}
          aria-invalid={fieldError("/composition/input") ? true : undefined}
        />
        <p id="s-input-help" class="help">
          A store reference, store://&lt;store&gt;/&lt;key&gt;. {fieldError("/composition/input")}
        </p>
        <label for="s-output">Output prefix</label>
        <input
          id="s-output"
          required
          pattern="store://.+/"
          value={output}
          aria-describedby="s-output-help"
          onInput={(e) => setOutput((e.target as HTMLInputElement).value)}
          aria-invalid={fieldError("/composition/output") ? true : undefined}
        />
        <p id="s-output-help" class="help">
          Ends with a slash. {fieldError("/composition/output")}
        </p>
        <label for="s-priority">Priority (0–100, higher runs first)</label>
        <input
          id="s-priority"
          type="number"
          min={0}
          max={100}
          value={priority}
          onInput={(e) => setPriority(Number((e.target as HTMLInputElement).value))}
        />
        {problem && (
          <div class="error" role="alert">
            <p>{problem.detail}</p>
            {problem.errors.length > 0 && (
              <ul>
                {problem.errors.map((x) => (
                  <li key={x.field}>
                    <code>{x.field}</code>: {x.reason}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Submitting…" : "Submit job"}
        </button>
      </form>
    </section>
  );
}
