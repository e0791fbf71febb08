package memstore

// MappedBytes is the record memory s has mapped (slab chunks).
var MappedBytes = (*Store).chunkBytes
