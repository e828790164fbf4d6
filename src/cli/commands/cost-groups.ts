/** What `pop cost --by` groups by: its own module, so the CLI knows the choices without loading the report. */
export const COST_GROUPS = ['model', 'task', 'pipeline', 'day'] as const;
export type CostGroup = (typeof COST_GROUPS)[number];
