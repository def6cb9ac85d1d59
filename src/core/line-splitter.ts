/**
 * Splits a text stream into lines (newline-delimited JSON of the stdio transport), keeping at most
 * `maxLineLength` characters of an unfinished line: past that the partial line is dropped and
 * `onOverflow` is called, so a peer that never writes a newline cannot grow memory without bound.
 */
export function lineSplitter(onLine: (line: string) => void, maxLineLength: number, onOverflow: () => void): (chunk: string) => void {
  let buffered = '';
  return (chunk) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.charCodeAt(newline - 1) === 13 ? buffered.slice(0, newline - 1) : buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.length > 0) onLine(line);
      newline = buffered.indexOf('\n');
    }
    if (buffered.length > maxLineLength) {
      buffered = '';
      onOverflow();
    }
  };
}
