// HLS playlists: parsing the media playlists ffmpeg writes, measuring their bitrates,
// and writing the master playlist ourselves (ffmpeg's own master lacks measured
// BANDWIDTH, AVERAGE-BANDWIDTH and codec strings taken from the encoded streams).

export interface MediaSegment {
  uri: string;
  duration: number;
}

export interface MediaPlaylist {
  version?: number;
  targetDuration?: number;
  map?: string;
  segments: MediaSegment[];
  endList: boolean;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== "#EXTM3U") throw new Error("not an HLS playlist (no #EXTM3U)");
  const out: MediaPlaylist = { segments: [], endList: false };
  let pending: number | undefined;
  for (const l of lines.slice(1)) {
    if (!l) continue;
    if (l.startsWith("#EXT-X-VERSION:")) out.version = Number(l.slice(15));
    else if (l.startsWith("#EXT-X-TARGETDURATION:")) out.targetDuration = Number(l.slice(22));
    else if (l.startsWith("#EXT-X-MAP:")) out.map = /URI="([^"]*)"/.exec(l)?.[1];
    else if (l.startsWith("#EXTINF:")) pending = Number(l.slice(8).split(",")[0]);
    else if (l === "#EXT-X-ENDLIST") out.endList = true;
    else if (!l.startsWith("#")) {
      if (pending === undefined || !Number.isFinite(pending)) throw new Error(`segment ${l} has no EXTINF`);
      out.segments.push({ uri: l, duration: pending });
      pending = undefined;
    }
  }
  return out;
}

export interface Bitrates {
  /** bits/s of the heaviest segment (HLS BANDWIDTH) */
  peak: number;
  /** bits/s over the whole rendition (HLS AVERAGE-BANDWIDTH) */
  average: number;
  duration: number;
}

/** Measured from segment sizes; the init segment is counted with the first segment. */
export function measureBitrates(segments: { duration: number; bytes: number }[], initBytes = 0): Bitrates {
  let peak = 0;
  let bytes = initBytes;
  let duration = 0;
  segments.forEach((s, i) => {
    const b = s.bytes + (i === 0 ? initBytes : 0);
    if (s.duration > 0) peak = Math.max(peak, (b * 8) / s.duration);
    bytes += s.bytes;
    duration += s.duration;
  });
  return { peak: Math.ceil(peak), average: duration > 0 ? Math.ceil((bytes * 8) / duration) : 0, duration };
}

export interface MasterVariant {
  uri: string;
  bitrates: Bitrates;
  codecs: string;
  width: number;
  height: number;
  frameRate: number;
}

export interface MasterAudio {
  name: string;
  uri: string;
  bitrates: Bitrates;
  codecs: string;
  channels?: number;
  language?: string;
  default: boolean;
}

const quoteSafe = (s: string) => s.replace(/["\r\n]/g, "");

export const AUDIO_GROUP = "audio";

/** The master playlist: one EXT-X-STREAM-INF per video rendition, audio as an EXT-X-MEDIA group. */
export function buildMasterPlaylist(o: { variants: MasterVariant[]; audio: MasterAudio[]; segmentType: "fmp4" | "ts" }): string {
  const lines = ["#EXTM3U", `#EXT-X-VERSION:${o.segmentType === "fmp4" ? 7 : 4}`, "#EXT-X-INDEPENDENT-SEGMENTS"];
  const hasDefault = o.audio.some((a) => a.default);
  o.audio.forEach((a, i) => {
    const isDefault = a.default || (!hasDefault && i === 0);
    const attrs = [`TYPE=AUDIO`, `GROUP-ID="${AUDIO_GROUP}"`, `NAME="${quoteSafe(a.name)}"`];
    if (a.language) attrs.push(`LANGUAGE="${quoteSafe(a.language)}"`);
    attrs.push(`DEFAULT=${isDefault ? "YES" : "NO"}`, "AUTOSELECT=YES");
    if (a.channels) attrs.push(`CHANNELS="${a.channels}"`);
    attrs.push(`URI="${quoteSafe(a.uri)}"`);
    lines.push(`#EXT-X-MEDIA:${attrs.join(",")}`);
  });
  // a variant's BANDWIDTH covers everything a player fetches with it: video + the heaviest audio
  const audioPeak = Math.max(0, ...o.audio.map((a) => a.bitrates.peak));
  const audioAvg = Math.max(0, ...o.audio.map((a) => a.bitrates.average));
  const audioCodecs = [...new Set(o.audio.map((a) => a.codecs))];
  for (const v of o.variants) {
    const attrs = [
      `BANDWIDTH=${v.bitrates.peak + audioPeak}`,
      `AVERAGE-BANDWIDTH=${v.bitrates.average + audioAvg}`,
      `CODECS="${[v.codecs, ...audioCodecs].join(",")}"`,
      `RESOLUTION=${v.width}x${v.height}`,
      `FRAME-RATE=${v.frameRate.toFixed(3)}`,
    ];
    if (o.audio.length) attrs.push(`AUDIO="${AUDIO_GROUP}"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(",")}`, quoteSafe(v.uri));
  }
  return lines.join("\n") + "\n";
}

/** Parses a master playlist's attribute lists (for tests and verification). */
export function parseMasterPlaylist(text: string): {
  variants: (Record<string, string> & { uri: string })[];
  media: Record<string, string>[];
} {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const variants: (Record<string, string> & { uri: string })[] = [];
  const media: Record<string, string>[] = [];
  const attrs = (s: string) => {
    const out: Record<string, string> = {};
    const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(s))) out[m[1]!] = m[2]!.replace(/^"|"$/g, "");
    return out;
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith("#EXT-X-STREAM-INF:")) variants.push({ ...attrs(l.slice(18)), uri: lines[i + 1] ?? "" });
    else if (l.startsWith("#EXT-X-MEDIA:")) media.push(attrs(l.slice(13)));
  }
  return { variants, media };
}
