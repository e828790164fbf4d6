import MarkdownIt from 'markdown-it';
import { html, SafeHtml } from './html.js';

/**
 * Markdown from a run's files (a task's `brief.md`), as HTML. markdown-it with raw HTML off: tags in
 * the text stay text, and links to `javascript:` and the like are not made links, so a model's reply
 * cannot put markup or script on the page.
 */
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });

export const isMarkdownFile = (file: string) => /\.(md|markdown)$/i.test(file);

/** The rendered text, with its source one click away. */
export function markdownView(text: string): SafeHtml {
  return html`<div class="markdown">${new SafeHtml(markdown.render(text))}</div>
<details class="markdown-source"><summary>Markdown source</summary><pre class="text">${text}</pre></details>`;
}
