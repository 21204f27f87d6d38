/**
 * Where a command writes. The commands take it as a parameter so tests run them in-process
 * and read what they printed; `caliper-gateway` passes the real stdout and stderr.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const PROCESS_IO: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};
