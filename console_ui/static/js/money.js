// Money as the console shows and reads it: the server's integer fen shown in yuan, and yuan typed by an agent
// read back into fen by their digits (never through floating point, where 0.1 + 0.2 is not 0.3).

/** 4000 → "¥40.00", -4000 → "-¥40.00", null → "—". */
export function yuan(fen) {
  if (fen == null) return '—';
  return `${fen < 0 ? '-' : ''}¥${yuanDigits(Math.abs(fen))}`;
}

/** 4000 → "40.00", -5 → "-0.05": for texts that say 元 themselves. */
export function yuanDigits(fen) {
  const abs = Math.abs(fen);
  return `${fen < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

// What an amount field takes: whole yuan, with at most two decimals ("40", "40.5", "40.05").
export const YUAN_PATTERN = '\\d{1,7}(\\.\\d{1,2})?';
const YUAN = /^\s*(\d{1,7})(?:\.(\d{1,2}))?\s*$/;

/** "40.05" → 4005; null for anything that is not an amount in yuan (a sign, three decimals, letters). */
export function fenFromYuan(text) {
  const match = YUAN.exec(text ?? '');
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'));
}
