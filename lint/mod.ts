/**
 * @module
 * Placeholder: this entry point is filled by its issue.
 */
export {};
