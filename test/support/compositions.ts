// Compositions the end-to-end tests share.

/** One 240p H.264 rendition and AAC, as MP4 and HLS fMP4: the smallest job that exercises a whole store round trip. */
export const smallHlsComposition = (input: string, output: string) => ({
  apiVersion: "framefleet/v1",
  engine: { name: "ffmpeg", version: "5.1" },
  input: { uri: input },
  output: { uri: output },
  video: {
    renditions: [{ name: "small", height: 240, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 600 } }],
  },
  audio: { renditions: [{ name: "aac", bitrateKbps: 96 }] },
  packaging: { mp4: {}, hls: { segmentType: "fmp4" } },
});
