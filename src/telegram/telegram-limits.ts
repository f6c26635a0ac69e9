/** The most messages per minute rotabot sends to one chat on Telegram: 20 per group, with headroom. */
export const TELEGRAM_CHAT_BUDGET = 15;
