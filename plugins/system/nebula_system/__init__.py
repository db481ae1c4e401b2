"""The bundled `system` plugin: host health from psutil (CPU, memory, swap, load, disks,
network, processes, temperatures), read once per interval and shared by everything."""
