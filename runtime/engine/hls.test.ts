import { describe, expect, it } from "vitest";
import { buildMasterPlaylist, measureBitrates, parseMasterPlaylist, parseMediaPlaylist } from "./hls.js";
import { boundariesAligned, packetSpan, parsePackets, segmentStartsWithoutKeyframe } from "./verify.js";

const media = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.000000,
seg_00000.m4s
#EXTINF:2.500000,
seg_00001.m4s
#EXT-X-ENDLIST
`;

describe("HLS playlists", () => {
  it("parses media playlists", () => {
    const p = parseMediaPlaylist(media);
    expect(p).toMatchObject({ version: 7, targetDuration: 4, map: "init.mp4", endList: true });
    expect(p.segments).toEqual([
      { uri: "seg_00000.m4s", duration: 4 },
      { uri: "seg_00001.m4s", duration: 2.5 },
    ]);
    expect(() => parseMediaPlaylist("seg.ts")).toThrow(/EXTM3U/);
    expect(() => parseMediaPlaylist("#EXTM3U\nseg.ts\n")).toThrow(/no EXTINF/);
  });

  it("measures peak and average bitrate from segment sizes", () => {
    const b = measureBitrates(
      [
        { duration: 4, bytes: 500_000 },
        { duration: 2, bytes: 400_000 },
      ],
      1000,
    );
    expect(b.peak).toBe(1_600_000); // 400 kB over 2 s
    expect(b.average).toBe(Math.ceil((901_000 * 8) / 6));
    expect(b.duration).toBe(6);
  });

  it("writes a master with BANDWIDTH covering video + heaviest audio, CODECS, RESOLUTION, FRAME-RATE and an audio group", () => {
    const m = buildMasterPlaylist({
      segmentType: "fmp4",
      variants: [
        {
          uri: "hls/720p/index.m3u8",
          bitrates: { peak: 3_000_000, average: 2_500_000, duration: 6 },
          codecs: "avc1.64001f",
          width: 1280,
          height: 720,
          frameRate: 30000 / 1001,
        },
        {
          uri: "hls/360p/index.m3u8",
          bitrates: { peak: 900_000, average: 700_000, duration: 6 },
          codecs: "avc1.4d401e",
          width: 640,
          height: 360,
          frameRate: 30000 / 1001,
        },
      ],
      audio: [
        {
          name: "en",
          uri: "hls/en/index.m3u8",
          bitrates: { peak: 130_000, average: 128_000, duration: 6 },
          codecs: "mp4a.40.2",
          channels: 2,
          language: "en",
          default: false,
        },
        {
          name: "fr",
          uri: "hls/fr/index.m3u8",
          bitrates: { peak: 100_000, average: 96_000, duration: 6 },
          codecs: "mp4a.40.2",
          channels: 2,
          language: "fr",
          default: true,
        },
      ],
    });
    expect(m.startsWith("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")).toBe(true);
    const p = parseMasterPlaylist(m);
    expect(p.variants).toHaveLength(2);
    expect(p.variants[0]).toMatchObject({
      BANDWIDTH: "3130000",
      "AVERAGE-BANDWIDTH": "2628000",
      CODECS: "avc1.64001f,mp4a.40.2",
      RESOLUTION: "1280x720",
      "FRAME-RATE": "29.970",
      AUDIO: "audio",
      uri: "hls/720p/index.m3u8",
    });
    expect(p.media.map((x) => [x.NAME, x.DEFAULT, x.LANGUAGE, x["GROUP-ID"]])).toEqual([
      ["en", "NO", "en", "audio"],
      ["fr", "YES", "fr", "audio"],
    ]);
  });

  it("a master without audio has no AUDIO attribute and TS masters use version 4", () => {
    const m = buildMasterPlaylist({
      segmentType: "ts",
      variants: [
        { uri: "v.m3u8", bitrates: { peak: 1, average: 1, duration: 1 }, codecs: "avc1.42c01e", width: 2, height: 2, frameRate: 25 },
      ],
      audio: [],
    });
    expect(m).toContain("#EXT-X-VERSION:4");
    expect(m).not.toContain("AUDIO=");
    expect(m).toContain('CODECS="avc1.42c01e"');
  });
});

describe("verification helpers", () => {
  const pk = parsePackets("1.4,0.0333,K_\n1.4333,0.0333,__\n3.4,0.0333,K_\n3.4333,0.0333,__\n4.3667,0.0333,__\n");
  it("spans and keyframes", () => {
    expect(packetSpan(pk)).toBeCloseTo(3, 3);
    expect(segmentStartsWithoutKeyframe([2, 1], pk, 0.017)).toEqual([]);
    expect(segmentStartsWithoutKeyframe([1, 2], pk, 0.017)).toEqual([1]);
  });
  it("aligned boundaries", () => {
    expect(
      boundariesAligned(
        [
          [2, 2, 1],
          [2, 2, 1.001],
        ],
        0.02,
      ),
    ).toBe(true);
    expect(
      boundariesAligned(
        [
          [2, 2, 1],
          [2, 3],
        ],
        0.02,
      ),
    ).toBe(false);
    expect(boundariesAligned([[2, 2]], 0.02)).toBe(true);
  });
});
