/** Saving what the API returned as a file: the API needs the token, so a plain link cannot fetch it. */

/** Offers `content` as a download named `name`. */
export function saveFile(content: Blob | string, name: string): void {
  const blob = typeof content === 'string' ? new Blob([content], { type: 'text/plain' }) : content;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  // revoked later: the browser reads the blob after the click returns
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
