// Numbers for people, the same on every page (the recipient page, the sidebar, the widget).
//
// Sizes use binary multiples (1 KB = 1024 bytes) because the limits people set are in them:
// the sidebar's "maximum file size" of 100 MB is 100 × 1024 × 1024 bytes, and a file of that
// size must then show as "100 MB", not "105 MB".

/** "812 B", "3.4 KB", "1.5 MB", "12 GB". */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return "?";
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let i = -1;
  do {
    n /= 1024;
    i++;
  } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** "3 s", "2 min", "1 h 5 min". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return "…";
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
