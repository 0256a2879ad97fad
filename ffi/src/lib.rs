//! libmcring: the C ABI over the mcring engine.
