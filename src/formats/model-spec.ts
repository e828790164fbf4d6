/** `provider:model` → its parts; the provider is everything before the first colon. */
export function splitModelSpec(spec: string): { provider: string; model: string } | undefined {
  const colon = spec.indexOf(':');
  if (colon <= 0 || colon === spec.length - 1) return undefined;
  return { provider: spec.slice(0, colon), model: spec.slice(colon + 1) };
}

/** The same, for reporting on a spec that may not be well formed: such a spec names itself twice. */
export function modelSpecParts(spec: string): { provider: string; model: string } {
  return splitModelSpec(spec) ?? { provider: spec, model: spec };
}
