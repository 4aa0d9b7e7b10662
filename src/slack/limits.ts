// Every Slack limit Preflight relies on, in one place. Block Kit reference:
// https://api.slack.com/reference/block-kit/blocks and …/composition-objects, …/block-elements

/** Blocks in one message (chat.postMessage, chat.update, respond). */
export const MESSAGE_BLOCKS = 50;
/** Blocks in a Home tab or modal view. */
export const VIEW_BLOCKS = 100;
/** Characters in a section block's text. */
export const SECTION_TEXT = 3000;
/** Characters in a header block's plain text. */
export const HEADER_TEXT = 150;
/** Elements in a context block. */
export const CONTEXT_ELEMENTS = 10;
/** Characters in one context text element (same cap as section text). */
export const CONTEXT_TEXT = 3000;
/** Elements in an actions block. */
export const ACTIONS_ELEMENTS = 25;
/** Options in a checkboxes element. */
export const CHECKBOX_OPTIONS = 10;
/** Options in a static select. */
export const SELECT_OPTIONS = 100;
/** Characters in an option's text and in its description. */
export const OPTION_TEXT = 75;
/** Characters in an option's value. */
export const OPTION_VALUE = 150;
/** Characters in a button's label. */
export const BUTTON_TEXT = 75;
/** Characters in a button's value. */
export const BUTTON_VALUE = 2000;
/** Characters in an action_id or block_id. */
export const ACTION_ID = 255;
/** Characters in a message's top-level `text` (Slack truncates past 40,000; we stay well below). */
export const MESSAGE_TEXT = 4000;
/** Characters of block text we put in one message: keeps a page readable on a phone and far below msg_too_long. */
export const PAGE_TEXT = 12000;
