// Composition v1: the customer's description of a transcoding job.
//
// The schema (TypeBox, so the same object is a JSON Schema for OpenAPI and a static
// TypeScript type) checks shape; `validateComposition` adds the semantic rules a schema
// cannot express and returns every problem with a JSON-pointer field and a reason.
// A composition that passes is safe to turn into ffmpeg argv: names are restricted to
// [A-Za-z0-9_-], media are store references, and no field is passed to ffmpeg verbatim.

import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parseStoreRef, StoreRefError } from "../storage/keys.js";

export const API_VERSION = "framefleet/v1";

const strict = { additionalProperties: false } as const;

export const NameSchema = Type.String({
  pattern: "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
  description: "letters, digits, '_' and '-', 1 to 32 characters, not starting with '-' or '_'",
});
export const StoreRefSchema = Type.String({
  minLength: 1,
  maxLength: 1100,
  description: "store://<store>/<key>",
});
export const VideoCodecSchema = Type.Union([Type.Literal("h264"), Type.Literal("hevc"), Type.Literal("av1")]);
export const PresetSchema = Type.Union([Type.Literal("fastest"), Type.Literal("fast"), Type.Literal("medium"), Type.Literal("slow")], {
  description: "speed/quality trade-off, mapped to each encoder's own presets",
});

export const RateControlSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal("vbr"), Type.Literal("cbr"), Type.Literal("crf")], {
      description: "vbr: target bitrate with maxrate/bufsize; cbr: constant; crf: quality-targeted, capped by maxrate",
    }),
    bitrateKbps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    maxrateKbps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    bufsizeKbits: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_000_000 })),
    crf: Type.Optional(Type.Integer({ minimum: 0, maximum: 63 })),
  },
  strict,
);

export const VideoRenditionSchema = Type.Object(
  {
    name: NameSchema,
    height: Type.Integer({ minimum: 1, maximum: 100_000 }),
    width: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: "default: follows the source aspect ratio" })),
    codec: Type.Optional(VideoCodecSchema),
    rateControl: RateControlSchema,
    profile: Type.Optional(Type.String({ maxLength: 16 })),
    level: Type.Optional(Type.String({ maxLength: 8 })),
    preset: Type.Optional(PresetSchema),
  },
  strict,
);

export const AudioRenditionSchema = Type.Object(
  {
    name: NameSchema,
    codec: Type.Optional(Type.Literal("aac")),
    bitrateKbps: Type.Integer({ minimum: 1, maximum: 10_000 }),
    channels: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(6)])),
    sampleRate: Type.Optional(Type.Union([Type.Literal(44100), Type.Literal(48000)])),
    track: Type.Optional(
      Type.Object(
        {
          index: Type.Optional(Type.Integer({ minimum: 0, maximum: 63, description: "n-th audio stream of the input" })),
          language: Type.Optional(Type.String({ pattern: "^[a-z]{2,3}$", description: "ISO 639 language tag of the input track" })),
        },
        strict,
      ),
    ),
    language: Type.Optional(Type.String({ pattern: "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", description: "language advertised in manifests" })),
    default: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const CompositionSchema = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    engine: Type.Object(
      {
        name: Type.Literal("ffmpeg"),
        version: Type.String({ pattern: "^[0-9]{1,3}(\\.[0-9]{1,4}){0,2}$", description: "a pin: '5.1' matches 5.1.x" }),
      },
      strict,
    ),
    hardware: Type.Optional(Type.Union([Type.Literal("cpu"), Type.Literal("gpu"), Type.Literal("any")])),
    input: Type.Object(
      {
        uri: StoreRefSchema,
        trim: Type.Optional(
          Type.Object(
            {
              startSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400 })),
              durationSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86_400 })),
            },
            strict,
          ),
        ),
      },
      strict,
    ),
    output: Type.Object({ uri: StoreRefSchema }, strict),
    video: Type.Object(
      {
        codec: Type.Optional(VideoCodecSchema),
        frameRate: Type.Optional(Type.Number({ minimum: 1, maximum: 120, description: "output frame rate; default: the source's" })),
        gopSeconds: Type.Optional(Type.Number({ minimum: 0.5, maximum: 10, description: "fixed keyframe interval (default 2)" })),
        preset: Type.Optional(PresetSchema),
        renditions: Type.Array(VideoRenditionSchema, { minItems: 1, maxItems: 1000 }),
      },
      strict,
    ),
    audio: Type.Optional(
      Type.Object(
        {
          renditions: Type.Array(AudioRenditionSchema, { minItems: 0, maxItems: 1000 }),
        },
        strict,
      ),
    ),
    packaging: Type.Optional(
      Type.Object(
        {
          segmentSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 30 })),
          hls: Type.Optional(
            Type.Object(
              {
                segmentType: Type.Optional(Type.Union([Type.Literal("fmp4"), Type.Literal("ts")])),
              },
              strict,
            ),
          ),
          dash: Type.Optional(Type.Object({}, strict)),
          mp4: Type.Optional(Type.Object({}, strict)),
        },
        strict,
      ),
    ),
    thumbnails: Type.Optional(
      Type.Object(
        {
          intervalSeconds: Type.Number({ minimum: 1, maximum: 3600 }),
          width: Type.Optional(Type.Integer({ minimum: 16, maximum: 100_000 })),
        },
        strict,
      ),
    ),
    chunking: Type.Optional(
      Type.Object(
        {
          chunks: Type.Integer({ minimum: 2, maximum: 64, description: "GOP-aligned chunks encoded in parallel per video rendition" }),
        },
        strict,
      ),
    ),
    policy: Type.Optional(
      Type.Object(
        {
          onRenditionFailure: Type.Optional(Type.Union([Type.Literal("wait"), Type.Literal("emit")])),
          maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
        },
        strict,
      ),
    ),
  },
  { ...strict, $id: "framefleet/v1/Composition" },
);

export type Composition = Static<typeof CompositionSchema>;
export type VideoRendition = Static<typeof VideoRenditionSchema>;
export type AudioRendition = Static<typeof AudioRenditionSchema>;
export type VideoCodec = Static<typeof VideoCodecSchema>;
export type RateControl = Static<typeof RateControlSchema>;
export type Preset = Static<typeof PresetSchema>;

export interface FieldError {
  field: string;
  reason: string;
}

export type ValidationResult = { ok: true; value: Composition } | { ok: false; errors: FieldError[] };

// ---- limits (documented in docs/compositions.md) ----
export const LIMITS = {
  maxVideoRenditions: 64,
  maxAudioRenditions: 16,
  minHeight: 32,
  minHeightAv1: 64,
  maxHeight: 4320,
  maxWidth: 7680,
  minVideoKbps: 50,
  minAudioKbps: 16,
  maxAudioKbps: 512,
  maxOutputPrefixBytes: 960,
} as const;

export const DEFAULTS = {
  codec: "h264" as VideoCodec,
  gopSeconds: 2,
  segmentSeconds: 6,
  segmentType: "fmp4" as const,
  hardware: "cpu" as const,
  onRenditionFailure: "wait" as const,
  maxAttempts: 3,
  audioChannels: 2 as const,
  audioSampleRate: 48000 as const,
  preset: "medium" as Preset,
};

const PROFILES: Record<VideoCodec, string[]> = {
  h264: ["baseline", "main", "high"],
  hevc: ["main"],
  av1: ["main"],
};
const LEVELS: Record<VideoCodec, string[]> = {
  h264: ["3.0", "3.1", "3.2", "4.0", "4.1", "4.2", "5.0", "5.1", "5.2", "6.0", "6.1", "6.2"],
  hevc: ["3.0", "3.1", "4.0", "4.1", "5.0", "5.1", "5.2", "6.0", "6.1", "6.2"],
  av1: [],
};
const MAX_CRF: Record<VideoCodec, number> = { h264: 51, hevc: 51, av1: 63 };

/** The highest sane video bitrate for a rendition height: 0.5 bit per pixel at 60 fps, 16:9. */
export function maxVideoKbps(height: number): number {
  const width = Math.ceil((height * 16) / 9);
  return Math.max(2000, Math.ceil((width * height * 60 * 0.5) / 1000));
}

const MULTIPLE_TOLERANCE = 1e-6;

function isMultiple(a: number, b: number): boolean {
  const q = a / b;
  return Math.abs(q - Math.round(q)) < MULTIPLE_TOLERANCE && Math.round(q) >= 1;
}

function schemaErrors(schema: TSchema, input: unknown): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, input)) {
    const field = e.path === "" ? "/" : e.path;
    // one message per field is enough; unions otherwise repeat themselves
    if (seen.has(field)) continue;
    seen.add(field);
    let reason = e.message;
    if (e.type === 42 /* ObjectAdditionalProperties */) reason = "unknown field";
    else if (e.schema && typeof e.schema === "object" && "pattern" in e.schema && typeof e.schema.description === "string") {
      reason = `${e.message} (${e.schema.description})`;
    }
    out.push({ field, reason });
  }
  return out;
}

/** Resolved per-rendition settings after composition-level defaults. */
export function renditionCodec(c: Composition, r: VideoRendition): VideoCodec {
  return r.codec ?? c.video.codec ?? DEFAULTS.codec;
}

/** Validates and normalizes (fills defaults) a composition; never throws. */
export function validateComposition(input: unknown): ValidationResult {
  // cheap guards before walking a hostile document
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    return { ok: false, errors: [{ field: "/", reason: "composition must be a JSON object" }] };
  }
  const raw = input as Record<string, unknown>;
  // refuse absurd ladders before schema checks produce thousands of errors
  const early: FieldError[] = [];
  const vr = (raw.video as { renditions?: unknown } | undefined)?.renditions;
  if (Array.isArray(vr) && vr.length > LIMITS.maxVideoRenditions) {
    early.push({ field: "/video/renditions", reason: `at most ${LIMITS.maxVideoRenditions} video renditions (got ${vr.length})` });
  }
  const ar = (raw.audio as { renditions?: unknown } | undefined)?.renditions;
  if (Array.isArray(ar) && ar.length > LIMITS.maxAudioRenditions) {
    early.push({ field: "/audio/renditions", reason: `at most ${LIMITS.maxAudioRenditions} audio renditions (got ${ar.length})` });
  }
  if (early.length) return { ok: false, errors: early };

  const errs = schemaErrors(CompositionSchema, input);
  if (errs.length) return { ok: false, errors: errs };

  const c = Value.Clone(input) as Composition;
  const errors: FieldError[] = [];
  const err = (field: string, reason: string) => errors.push({ field, reason });

  // ---- store references ----
  try {
    const ref = parseStoreRef(c.input.uri, { prefix: true });
    if (ref.key.endsWith("/")) err("/input/uri", "input must name an object, not a prefix");
  } catch (e) {
    if (e instanceof StoreRefError) err("/input/uri", e.reason);
    else throw e;
  }
  try {
    const out = parseStoreRef(c.output.uri, { prefix: true });
    if (!c.output.uri.endsWith("/")) c.output.uri += "/";
    if (Buffer.byteLength(out.key, "utf8") > LIMITS.maxOutputPrefixBytes) {
      err(
        "/output/uri",
        `output prefix is longer than ${LIMITS.maxOutputPrefixBytes} bytes (room is kept for the package's own paths within the 1024-byte key limit)`,
      );
    }
  } catch (e) {
    if (e instanceof StoreRefError) err("/output/uri", e.reason);
    else throw e;
  }

  const hardware = c.hardware ?? DEFAULTS.hardware;
  const gop = c.video.gopSeconds ?? DEFAULTS.gopSeconds;
  const segmentType = c.packaging?.hls?.segmentType ?? DEFAULTS.segmentType;
  const segmentSeconds = c.packaging?.segmentSeconds ?? DEFAULTS.segmentSeconds;

  // ---- names ----
  const names = new Map<string, string>();
  const claim = (name: string, field: string) => {
    const prev = names.get(name.toLowerCase());
    if (prev)
      err(field, `rendition name '${name}' is already used at ${prev} (names are unique, case-insensitively, across video and audio)`);
    else names.set(name.toLowerCase(), field);
  };

  // ---- video ----
  c.video.renditions.forEach((r, i) => {
    const f = `/video/renditions/${i}`;
    claim(r.name, `${f}/name`);
    const codec = renditionCodec(c, r);
    const minH = codec === "av1" ? LIMITS.minHeightAv1 : LIMITS.minHeight;
    if (r.height > LIMITS.maxHeight) err(`${f}/height`, `height ${r.height} is above the ${LIMITS.maxHeight} (8K) limit`);
    else if (r.height < minH) err(`${f}/height`, `height ${r.height} is below the ${minH}-line minimum for ${codec}`);
    else if (r.height % 2 !== 0) err(`${f}/height`, `height ${r.height} is odd: 4:2:0 chroma needs even dimensions`);
    if (r.width !== undefined) {
      if (r.width > LIMITS.maxWidth) err(`${f}/width`, `width ${r.width} is above the ${LIMITS.maxWidth} (8K) limit`);
      else if (r.width < minH) err(`${f}/width`, `width ${r.width} is below the ${minH}-pixel minimum`);
      else if (r.width % 2 !== 0) err(`${f}/width`, `width ${r.width} is odd: 4:2:0 chroma needs even dimensions`);
    }
    if (r.width !== undefined && c.packaging?.dash) {
      err(
        `${f}/width`,
        "explicit widths are not allowed with DASH packaging: a DASH adaptation set needs one aspect ratio, so widths follow the source",
      );
    }
    if (hardware === "gpu" && codec === "av1") {
      err(`${f}/codec`, "av1 has no GPU (NVENC) encoder in ffmpeg 5.1: use hardware 'cpu' or codec h264/hevc");
    }
    if (c.packaging?.hls && segmentType === "ts" && codec !== "h264") {
      err(`${f}/codec`, `${codec} cannot be carried in HLS MPEG-TS segments: use packaging.hls.segmentType 'fmp4'`);
    }
    if (r.profile !== undefined && !PROFILES[codec].includes(r.profile)) {
      err(`${f}/profile`, `profile '${r.profile}' is not valid for ${codec} (one of: ${PROFILES[codec].join(", ")})`);
    }
    if (r.level !== undefined) {
      if (LEVELS[codec].length === 0) err(`${f}/level`, `level cannot be set for ${codec}: the encoder derives it`);
      else if (!LEVELS[codec].includes(r.level))
        err(`${f}/level`, `level '${r.level}' is not valid for ${codec} (one of: ${LEVELS[codec].join(", ")})`);
    }
    // ---- rate control ----
    const rc = r.rateControl;
    const rf = `${f}/rateControl`;
    const hi = maxVideoKbps(r.height);
    const rangeCheck = (v: number | undefined, name: string) => {
      if (v === undefined) return;
      if (v < LIMITS.minVideoKbps) err(`${rf}/${name}`, `${v} kbps is below the ${LIMITS.minVideoKbps} kbps minimum`);
      else if (v > hi) err(`${rf}/${name}`, `${v} kbps is above the ${hi} kbps ceiling for ${r.height} lines`);
    };
    rangeCheck(rc.bitrateKbps, "bitrateKbps");
    rangeCheck(rc.maxrateKbps, "maxrateKbps");
    if (rc.mode === "vbr" || rc.mode === "cbr") {
      if (rc.bitrateKbps === undefined) err(`${rf}/bitrateKbps`, `required for mode '${rc.mode}'`);
      if (rc.crf !== undefined) err(`${rf}/crf`, `crf is only for mode 'crf'`);
    }
    if (rc.mode === "cbr" && codec === "av1") {
      err(`${rf}/mode`, "cbr is not available for av1 (SVT-AV1 offers CBR only for low-delay streams): use vbr or crf");
    }
    if (rc.mode === "vbr" && rc.bitrateKbps !== undefined && rc.maxrateKbps !== undefined && rc.maxrateKbps < rc.bitrateKbps) {
      err(`${rf}/maxrateKbps`, `maxrate ${rc.maxrateKbps} kbps is below bitrate ${rc.bitrateKbps} kbps`);
    }
    if (rc.mode === "cbr" && rc.maxrateKbps !== undefined && rc.bitrateKbps !== undefined && rc.maxrateKbps !== rc.bitrateKbps) {
      err(`${rf}/maxrateKbps`, "for cbr, maxrate must equal bitrate (or be left out)");
    }
    if (rc.mode === "crf") {
      if (rc.crf === undefined) err(`${rf}/crf`, "required for mode 'crf'");
      else if (rc.crf > MAX_CRF[codec]) err(`${rf}/crf`, `crf ${rc.crf} is above ${MAX_CRF[codec]}, the maximum for ${codec}`);
      if (rc.maxrateKbps === undefined) err(`${rf}/maxrateKbps`, "required for mode 'crf': CRF must be capped for streaming");
      if (rc.bitrateKbps !== undefined) err(`${rf}/bitrateKbps`, "mode 'crf' takes crf and maxrateKbps, not bitrateKbps");
    }
    if (rc.bufsizeKbits !== undefined) {
      const ref = rc.maxrateKbps ?? rc.bitrateKbps;
      if (ref !== undefined && (rc.bufsizeKbits < ref / 4 || rc.bufsizeKbits > ref * 10)) {
        err(`${rf}/bufsizeKbits`, `bufsize ${rc.bufsizeKbits} kbits is outside 0.25x..10x of the ${ref} kbps rate`);
      }
    }
    if (hardware === "gpu" && rc.mode === "crf") {
      // NVENC has constant-QP/CQ modes, not CRF; keep one meaning for crf
      err(`${rf}/mode`, "mode 'crf' is CPU-only: NVENC encoders take vbr or cbr");
    }
  });

  // ---- audio ----
  c.audio?.renditions.forEach((a, i) => {
    const f = `/audio/renditions/${i}`;
    claim(a.name, `${f}/name`);
    if (a.bitrateKbps < LIMITS.minAudioKbps || a.bitrateKbps > LIMITS.maxAudioKbps) {
      err(`${f}/bitrateKbps`, `${a.bitrateKbps} kbps is outside ${LIMITS.minAudioKbps}..${LIMITS.maxAudioKbps} kbps for AAC`);
    } else {
      const ch = a.channels ?? DEFAULTS.audioChannels;
      const perChannelMax = 320;
      if (a.bitrateKbps > perChannelMax * ch) err(`${f}/bitrateKbps`, `${a.bitrateKbps} kbps is above ${perChannelMax} kbps per channel`);
    }
    if (a.track && a.track.index !== undefined && a.track.language !== undefined) {
      err(`${f}/track`, "select the input track by index or by language, not both");
    }
    if (a.track && a.track.index === undefined && a.track.language === undefined) {
      err(`${f}/track`, "track needs index or language");
    }
  });
  const defaults = (c.audio?.renditions ?? []).filter((a) => a.default);
  if (defaults.length > 1) err("/audio/renditions", "at most one audio rendition may be the default");

  // ---- packaging ----
  const pk = c.packaging;
  if (pk && !pk.hls && !pk.dash && !pk.mp4) err("/packaging", "name at least one of hls, dash, mp4");
  if ((pk?.hls || pk?.dash) && !isMultiple(segmentSeconds, gop)) {
    err(
      "/packaging/segmentSeconds",
      `segment duration ${segmentSeconds}s must be a whole multiple of the ${gop}s GOP (keyframes start every segment)`,
    );
  }
  if (c.chunking && c.video.frameRate !== undefined && !Number.isInteger(gop * c.video.frameRate)) {
    err("/video/gopSeconds", `chunking needs a whole number of frames per GOP (${gop}s x ${c.video.frameRate} fps)`);
  }

  // ---- trim, thumbnails ----
  const trim = c.input.trim;
  if (trim && trim.startSeconds === undefined && trim.durationSeconds === undefined) {
    err("/input/trim", "trim needs startSeconds and/or durationSeconds");
  }
  if (c.thumbnails?.width !== undefined && c.thumbnails.width % 2 !== 0) {
    err("/thumbnails/width", `width ${c.thumbnails.width} is odd: use an even width`);
  }
  if (c.thumbnails?.width !== undefined && c.thumbnails.width > 3840) {
    err("/thumbnails/width", "thumbnail width is above 3840");
  }

  if (errors.length) return { ok: false, errors };
  return { ok: true, value: c };
}

/** Fully-resolved settings the planner and argv builders use (defaults applied). */
export function effective(c: Composition) {
  const pk = c.packaging ?? { mp4: {} };
  return {
    hardware: c.hardware ?? DEFAULTS.hardware,
    gopSeconds: c.video.gopSeconds ?? DEFAULTS.gopSeconds,
    segmentSeconds: pk.segmentSeconds ?? DEFAULTS.segmentSeconds,
    hls: pk.hls ? { segmentType: pk.hls.segmentType ?? DEFAULTS.segmentType } : undefined,
    dash: pk.dash ? {} : undefined,
    mp4: pk.mp4 ? {} : undefined,
    onRenditionFailure: c.policy?.onRenditionFailure ?? DEFAULTS.onRenditionFailure,
    maxAttempts: c.policy?.maxAttempts ?? DEFAULTS.maxAttempts,
  };
}
