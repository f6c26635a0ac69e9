/** Values placeholders stand for. Secret ones are resolved only when a step declares them. */
export interface PlaceholderValues {
  inventory?: string;
  environment?: string;
  vault_password_file: string;
  infra_dir: string;
  secret_key: string;
  new_key: string;
  rotation_id: string;
  state_dir: string;
  new_value?: string;
  old_value?: string;
}

/** Replaces `{name}`; an unknown or unavailable placeholder is an error (the schema already checked names). */
export function expandPlaceholders(text: string, values: PlaceholderValues): string {
  return text.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    const value = values[name as keyof PlaceholderValues];
    if (value === undefined) throw new Error(`placeholder ${whole} has no value at this step`);
    return value;
  });
}

/** Whether a step's env or stdin asks for a secret value. */
export function needsSecret(texts: readonly (string | undefined)[], name: "new_value" | "old_value"): boolean {
  return texts.some((t) => t?.includes(`{${name}}`));
}
