/**
 * The vault key a rotation stores its new value under until it is promoted: `<key>_new`. A naming
 * rule of the model, so the pure core (prompts, plan, rollback) needs nothing from the vault to say it.
 */
export const newKeyOf = (key: string) => `${key}_new`;
