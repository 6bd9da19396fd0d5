/**
 * An ffmpeg command pipeline (PIPELINES `{"command": …}`) as a user would write one: MPEG-TS on
 * stdin, `codecArgs` applied, MPEG-TS on stdout; started fast (a small probe) and flushing every
 * packet. `mark` goes into its argv (as the service name) so a test can find and kill it.
 */
export function ffmpegPipelineCommand(codecArgs: readonly string[], mark: string): string[] {
  return [
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "error",
    "-fflags",
    "nobuffer",
    "-probesize",
    "65536",
    "-analyzeduration",
    "500000",
    "-i",
    "pipe:0",
    ...codecArgs,
    "-flush_packets",
    "1",
    "-metadata",
    `service_name=${mark}`,
    "-f",
    "mpegts",
    "pipe:1",
  ];
}
