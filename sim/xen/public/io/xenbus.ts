/**
 * public/io/xenbus.h: the states a PV device's frontend and backend publish
 * in their xenstore "state" nodes (as decimal strings) while they connect.
 * The usual path is Initialising -> InitWait (backend) / Initialised
 * (frontend, rings published) -> Connected, and Closing -> Closed on unplug.
 */
export const XenbusStateUnknown = 0;
export const XenbusStateInitialising = 1;
/** Early setup done; waiting for the peer or the hotplug scripts. */
export const XenbusStateInitWait = 2;
/** Waiting for the peer to connect. */
export const XenbusStateInitialised = 3;
export const XenbusStateConnected = 4;
/** Being closed (error or unplug). */
export const XenbusStateClosing = 5;
export const XenbusStateClosed = 6;
export const XenbusStateReconfiguring = 7;
export const XenbusStateReconfigured = 8;
