# The part of openpi_client (Apache-2.0) the openpi protocol test uses: its msgpack_numpy, unchanged.
