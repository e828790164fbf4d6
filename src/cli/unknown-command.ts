import type { Command } from 'commander';
import { editDistance } from '../util/edit-distance.js';

/**
 * The complaint for a first argument that is not a command (`pop sumbit x.json`), naming the
 * closest command when one is near; undefined when the first argument is a command or an option.
 */
export function unknownCommand(program: Command, args: string[]): string | undefined {
  const [first] = args;
  if (first === undefined || first.startsWith('-')) return undefined;
  const names = program.commands.flatMap((command) => [command.name(), ...command.aliases()]);
  if (names.includes(first) || first === 'help') return undefined;
  const closest = names.map((name) => ({ name, distance: editDistance(first.toLowerCase(), name) })).sort((a, b) => a.distance - b.distance)[0];
  const near = closest && closest.distance <= Math.max(1, Math.floor(closest.name.length / 3));
  return `unknown command '${first}'${near ? ` (did you mean ${closest.name}?)` : ''}`;
}
