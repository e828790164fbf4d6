import { html, type SafeHtml } from './html.js';

export interface PageOptions {
  title: string;
  /** Handed to the client script for actions (a header on POST), never put in a URL. */
  token: string;
  /** What the live updates follow: a run id, or `*` for every run. */
  live?: string;
  body: SafeHtml;
}

/** The page shell: no inline script or style, only the server's own stylesheet and script. */
export function page(options: PageOptions): string {
  return `<!doctype html>${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="pop-token" content="${options.token}">
<title>${options.title} · POP</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/style.css">
<script src="/assets/app.js" defer></script>
</head>
<body data-live="${options.live ?? ''}">
<header class="top"><a class="brand" href="/">POP</a><nav><a href="/">Runs</a><a href="/compare">Compare</a></nav><span id="live-state" class="live-state" hidden>live</span></header>
<p id="notice" class="notice" role="status" hidden></p>
<main id="main">${options.body}</main>
</body>
</html>
`.text
  }`;
}

/** A state as a coloured label. */
export const stateBadge = (state: string) => html`<span class="badge state-${state}">${state}</span>`;
