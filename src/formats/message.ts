/** One message of a model call's conversation, as tasks write them and providers are sent them. */
export type Role = 'system' | 'user' | 'assistant';
export interface Message {
  role: Role;
  content: string;
}
