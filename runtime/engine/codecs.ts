// RFC 6381 CODECS strings derived from the encoded streams themselves, by reading the
// decoder configuration record in the MP4 sample entry (avcC, hvcC, av1C, esds), never
// from what we asked the encoder for: x264 may lower the profile it signals (e.g.
// "main" without B-frames is signalled as constrained baseline), and players refuse a
// variant whose CODECS over-promises.

import { open } from "node:fs/promises";

interface Box {
  type: string;
  start: number; // offset of the box header
  body: number; // offset of the payload
  end: number;
}

function* boxes(buf: Buffer, start: number, end: number): Generator<Box> {
  let p = start;
  while (p + 8 <= end) {
    let size = buf.readUInt32BE(p);
    const type = buf.toString("latin1", p + 4, p + 8);
    let header = 8;
    if (size === 1) {
      if (p + 16 > end) return;
      size = Number(buf.readBigUInt64BE(p + 8));
      header = 16;
    } else if (size === 0) {
      size = end - p;
    }
    if (size < header || p + size > end) return;
    yield { type, start: p, body: p + header, end: p + size };
    p += size;
  }
}

function child(buf: Buffer, parent: { body: number; end: number }, type: string, skip = 0): Box | undefined {
  for (const b of boxes(buf, parent.body + skip, parent.end)) if (b.type === type) return b;
  return undefined;
}

/** Reads the `moov` box of an MP4 (it may sit after `mdat`) without loading the media. */
export async function readMoov(file: string): Promise<Buffer> {
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    let p = 0;
    const hdr = Buffer.alloc(16);
    while (p + 8 <= size) {
      await fh.read(hdr, 0, 16, p);
      let boxSize = hdr.readUInt32BE(0);
      const type = hdr.toString("latin1", 4, 8);
      if (boxSize === 1) boxSize = Number(hdr.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - p;
      if (boxSize < 8) break;
      if (type === "moov") {
        if (boxSize > 256 * 1024 * 1024) throw new Error("moov box is implausibly large");
        const buf = Buffer.alloc(boxSize);
        await fh.read(buf, 0, boxSize, p);
        return buf;
      }
      p += boxSize;
    }
  } finally {
    await fh.close();
  }
  throw new Error(`no moov box in ${file}`);
}

export interface TrackCodec {
  handler: "vide" | "soun" | string;
  sampleEntry: string;
  codecs: string;
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

export function avcCodecString(entry: string, avcC: Buffer): string {
  // configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
  if (avcC.length < 4) throw new Error("avcC too short");
  return `${entry}.${hex2(avcC[1]!)}${hex2(avcC[2]!)}${hex2(avcC[3]!)}`;
}

export function hevcCodecString(entry: string, hvcC: Buffer): string {
  if (hvcC.length < 13) throw new Error("hvcC too short");
  const b1 = hvcC[1]!;
  const space = ["", "A", "B", "C"][b1 >> 6]!;
  const tier = (b1 >> 5) & 1 ? "H" : "L";
  const profile = b1 & 0x1f;
  // general_profile_compatibility_flags, written in reverse bit order (ISO/IEC 14496-15 E.3)
  const compat = hvcC.readUInt32BE(2);
  let rev = 0;
  for (let i = 0; i < 32; i++) if (compat & (1 << i)) rev |= 1 << (31 - i);
  const level = hvcC[12]!;
  const constraints = [...hvcC.subarray(6, 12)];
  while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
  const parts = [entry, `${space}${profile}`, (rev >>> 0).toString(16).toUpperCase(), `${tier}${level}`];
  for (const c of constraints) parts.push(c.toString(16).toUpperCase());
  return parts.join(".");
}

export function av1CodecString(av1C: Buffer): string {
  if (av1C.length < 4) throw new Error("av1C too short");
  const b1 = av1C[1]!;
  const b2 = av1C[2]!;
  const profile = b1 >> 5;
  const level = b1 & 0x1f;
  const tier = (b2 >> 7) & 1 ? "H" : "M";
  const highBitdepth = (b2 >> 6) & 1;
  const twelve = (b2 >> 5) & 1;
  const depth = highBitdepth ? (twelve ? 12 : 10) : 8;
  return `av01.${profile}.${String(level).padStart(2, "0")}${tier}.${String(depth).padStart(2, "0")}`;
}

/** mp4a.40.<audioObjectType> from the esds DecoderSpecificInfo. */
export function mp4aCodecString(esds: Buffer): string {
  // full box: 4 bytes version/flags, then descriptors (tag, varint size, payload)
  let p = 4;
  const readLen = (): number => {
    let n = 0;
    for (let i = 0; i < 4; i++) {
      const b = esds[p++]!;
      n = (n << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return n;
  };
  let oti = 0x40;
  while (p < esds.length) {
    const tag = esds[p++]!;
    const len = readLen();
    if (tag === 0x03) {
      // ES_Descriptor: ES_ID(2), flags(1) [+ optional fields]
      const flags = esds[p + 2]!;
      p += 3;
      if (flags & 0x80) p += 2;
      if (flags & 0x40) p += 1 + esds[p]!;
      if (flags & 0x20) p += 2;
      continue;
    }
    if (tag === 0x04) {
      oti = esds[p]!;
      p += 13;
      continue;
    }
    if (tag === 0x05) {
      let aot = esds[p]! >> 3;
      if (aot === 31) aot = 32 + (((esds[p]! & 7) << 3) | (esds[p + 1]! >> 5));
      return `mp4a.${oti.toString(16)}.${aot}`;
    }
    p += len;
  }
  return `mp4a.${oti.toString(16)}`;
}

/** The codec string of each track in an MP4/fMP4 file, in track order. */
export function codecsFromMoov(moov: Buffer): TrackCodec[] {
  const out: TrackCodec[] = [];
  const root = { body: 8, end: moov.length };
  for (const trak of boxes(moov, root.body, root.end)) {
    if (trak.type !== "trak") continue;
    const mdia = child(moov, trak, "mdia");
    if (!mdia) continue;
    const hdlr = child(moov, mdia, "hdlr");
    const handler = hdlr ? moov.toString("latin1", hdlr.body + 8, hdlr.body + 12) : "";
    const stsd = ((): Box | undefined => {
      const minf = child(moov, mdia, "minf");
      const stbl = minf && child(moov, minf, "stbl");
      return stbl && child(moov, stbl, "stsd");
    })();
    if (!stsd) continue;
    // stsd: version/flags(4) + entry_count(4), then sample entries
    const entry = boxes(moov, stsd.body + 8, stsd.end).next().value as Box | undefined;
    if (!entry) continue;
    const type = entry.type;
    const payload = (b: Box | undefined) => (b ? moov.subarray(b.body, b.end) : undefined);
    let codecs = type;
    if (type === "avc1" || type === "avc3") {
      const c = payload(child(moov, entry, "avcC", 78));
      if (c) codecs = avcCodecString(type, c);
    } else if (type === "hvc1" || type === "hev1") {
      const c = payload(child(moov, entry, "hvcC", 78));
      if (c) codecs = hevcCodecString(type, c);
    } else if (type === "av01") {
      const c = payload(child(moov, entry, "av1C", 78));
      if (c) codecs = av1CodecString(c);
    } else if (type === "mp4a") {
      // AudioSampleEntry v0: 28 bytes of fields; v1 adds 16, v2 adds 36
      const version = moov.readUInt16BE(entry.body + 8);
      const skip = version === 1 ? 44 : version === 2 ? 64 : 28;
      const c = payload(child(moov, entry, "esds", skip));
      if (c) codecs = mp4aCodecString(c);
    }
    out.push({ handler, sampleEntry: type, codecs });
  }
  return out;
}

export async function codecsOfFile(file: string): Promise<TrackCodec[]> {
  return codecsFromMoov(await readMoov(file));
}
