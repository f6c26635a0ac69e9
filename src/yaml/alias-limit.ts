/**
 * How far YAML aliases (`*name`) may expand: yaml's own default, made explicit. A runbook has
 * little use for aliases; a "billion laughs" bomb exceeds this at once instead of eating memory.
 */
export const MAX_ALIAS_COUNT = 100;
