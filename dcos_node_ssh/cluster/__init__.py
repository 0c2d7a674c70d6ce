"""The cluster API. Pure: `proxies` (which proxy, from the environment), `urls`, `failures`
(what each failure tells the user), `answers` (what the answers mean). On the network:
`guard` (one request's deadline and byte cap, on the socket), `tunnel` (CONNECT),
`transport` (HTTP on http.client), `queries` (the lookups the commands make). Nothing
here prints: lookups return their values with where they came from and what to say."""
