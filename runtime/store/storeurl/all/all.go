// Package all links every store driver into storeurl, for programs that let
// their user pick any backend by URL (the examples, idemgen proxy):
//
//	import _ "github.com/idemgen/idemgen/runtime/store/storeurl/all"
//
// A service that uses one backend imports that store package instead, and
// links only its driver.
package all

import (
	_ "github.com/idemgen/idemgen/runtime/store/pgstore"
	_ "github.com/idemgen/idemgen/runtime/store/redisstore"
	_ "github.com/idemgen/idemgen/runtime/store/sqlitestore"
)
