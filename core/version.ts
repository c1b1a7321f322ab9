/** The version written into every object's `shipper-version` metadata; equals package.json's. */
export const VERSION = '0.1.0';
