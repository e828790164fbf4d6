import type { Message, PromptResult } from './task-api.js';

/** Normalise what a prompt stage returned into a message list, rejecting shapes a model cannot take. */
export function toMessages(prompt: PromptResult): Message[] {
  if (typeof prompt === 'string') return [{ role: 'user', content: prompt }];
  if (Array.isArray(prompt)) {
    prompt.forEach((message, index) => {
      if (!message || !['system', 'user', 'assistant'].includes(message.role) || typeof message.content !== 'string') {
        throw new TypeError(`prompt message ${index} must be { role: "system" | "user" | "assistant", content: string }`);
      }
    });
    return prompt;
  }
  if (prompt && typeof prompt === 'object' && typeof prompt.user === 'string') {
    return prompt.system
      ? [
          { role: 'system', content: prompt.system },
          { role: 'user', content: prompt.user },
        ]
      : [{ role: 'user', content: prompt.user }];
  }
  throw new TypeError('prompt must return a string, { system?, user }, or a list of { role, content } messages');
}

/** The prompt as a person reads it: each message under its role, then the schema the reply must fit. */
export function renderPromptMarkdown(messages: Message[], header: string, schema: Record<string, unknown> | undefined): string {
  const parts = [`<!-- ${header} -->`];
  for (const message of messages) parts.push(`## ${message.role}\n\n${message.content.trimEnd()}`);
  if (schema) parts.push(`## expected reply (JSON Schema)\n\n\`\`\`json\n${JSON.stringify(schema, null, 2)}\n\`\`\``);
  return `${parts.join('\n\n')}\n`;
}
