/** A repaired stretch: 1-based line, the mis-decoded text and what it was meant to be. */
export interface MojibakeFix {
  line: number;
  found: string;
  repaired: string;
}

// Mac Roman bytes 0x80–0xFF as text; every one of them is a single BMP code unit (verified at load below).
const HIGH = new TextDecoder('macintosh').decode(Uint8Array.from({ length: 128 }, (_, i) => 0x80 + i));
if (HIGH.length !== 128) throw new Error('this Node build lacks the Mac Roman decoder (needs full ICU)');

// Code unit → Mac Roman byte; 0 means "not a Mac Roman high character" (byte 0 is ASCII, so never stored).
const BYTE_OF = new Uint8Array(0x10000);
for (let i = 0; i < HIGH.length; i++) BYTE_OF[HIGH.charCodeAt(i)] = 0x80 + i;

const CLASS = [...HIGH].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
// A multi-byte UTF-8 sequence needs at least two bytes, so single high characters are never candidates.
const RUN = new RegExp(`[${CLASS}]{2,}`, 'g');

// fatal: a malformed sequence throws instead of becoming U+FFFD; ignoreBOM: keep a mis-decoded BOM as U+FEFF.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Controls, unassigned and private-use characters are never what someone meant to write.
const IMPLAUSIBLE = /[\p{Cc}\p{Cn}\p{Co}]/u;

/** One stretch of a run: kept as found, or a decoded UTF-8 sequence (`fix`). */
interface Piece {
  found: string;
  repaired: string;
  fix: boolean;
}

/** UTF-8 sequence length announced by a lead byte, or 0 when the byte cannot start a multi-byte sequence. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Decodes one candidate sequence, or returns undefined when it is malformed or implausible. */
function decodeSequence(bytes: Uint8Array): string | undefined {
  try {
    const ch = UTF8.decode(bytes);
    return IMPLAUSIBLE.test(ch) ? undefined : ch;
  } catch {
    return undefined;
  }
}

/** Splits a run of Mac Roman high characters into kept characters and decoded UTF-8 sequences. */
function splitRun(run: string): Piece[] {
  const bytes = Uint8Array.from(run, (c) => BYTE_OF[c.charCodeAt(0)] ?? 0);
  const pieces: Piece[] = [];
  const push = (found: string, repaired: string, fix: boolean): void => {
    const last = pieces.at(-1);
    if (last && last.fix === fix) {
      last.found += found;
      last.repaired += repaired;
    } else {
      pieces.push({ found, repaired, fix });
    }
  };
  let otherTwoByte = 0;
  let kept = 0;
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i] ?? 0;
    const n = sequenceLength(lead);
    const ch = n > 0 && i + n <= bytes.length ? decodeSequence(bytes.subarray(i, i + n)) : undefined;
    if (ch === undefined) {
      push(run.charAt(i), run.charAt(i), false);
      kept++;
      i++;
      continue;
    }
    if (n === 2 && lead > 0xc3) otherTwoByte++;
    push(run.slice(i, i + n), ch, true);
    i += n;
  }
  // Legit pairs like "“É" or "—à" also form valid 2-byte sequences (U+0100–U+07FF); only a run made wholly of
  // such sequences, two or more (e.g. Cyrillic "–ü—Ä"), is trusted. Latin-1 (leads C2/C3) and 3–4 byte ones are.
  if (otherTwoByte === 1 || (otherTwoByte > 1 && kept > 0)) return [{ found: run, repaired: run, fix: false }];
  return pieces;
}

/** True when repairing `text` a second time would change nothing. */
function isStable(text: string): boolean {
  for (const match of text.matchAll(RUN)) {
    if (splitRun(match[0]).some((p) => p.fix)) return false;
  }
  return true;
}

/** Counts line feeds in text[from, to). */
function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Detects UTF-8 text that was decoded as Mac Roman and repairs it; text without such runs comes back unchanged. */
export function repairMojibake(text: string): { text: string; fixes: MojibakeFix[] } {
  const fixes: MojibakeFix[] = [];
  let line = 1;
  let scanned = 0;
  const repaired = text.replace(RUN, (run: string, offset: number) => {
    const pieces = splitRun(run);
    if (!pieces.some((p) => p.fix)) return run;
    const out = pieces.map((p) => p.repaired).join('');
    // A repair that would itself look like mojibake (e.g. "√√©" → "√é" → "Î") is ambiguous: leave it alone.
    if (!isStable(out)) return run;
    line += countNewlines(text, scanned, offset);
    scanned = offset;
    for (const p of pieces) if (p.fix) fixes.push({ line, found: p.found, repaired: p.repaired });
    return out;
  });
  return { text: fixes.length > 0 ? repaired : text, fixes };
}
