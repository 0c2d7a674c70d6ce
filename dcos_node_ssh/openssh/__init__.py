"""What OpenSSH is given, as pure functions of plain data: the argument list of a hop or a
jump (hops), of a copy (copy), of `dcos node run`'s connections sharing one to the proxy
(shared), and the text of an ssh config file and the Include that brings it in (config).
No I/O here; the commands run what these build.
"""
