// The text of anything thrown, for messages that wrap it: an Error's message, anything else as a string.
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
