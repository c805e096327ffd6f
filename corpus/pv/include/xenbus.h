/*
 * The xenbus states (public/io/xenbus.h, our own definitions), as split
 * drivers write them (decimal) to their "state" nodes.
 */
#ifndef XENRR_XENBUS_H
#define XENRR_XENBUS_H

#define XenbusStateUnknown       0
#define XenbusStateInitialising  1
#define XenbusStateInitWait      2
#define XenbusStateInitialised   3
#define XenbusStateConnected     4
#define XenbusStateClosing       5
#define XenbusStateClosed        6

#endif /* XENRR_XENBUS_H */
