"""Performance rules (ML8xx): code that wastes the GPU or the host."""
