# The container image the example Workers deploy with. The -python variant of the Sandbox image
# (Python 3.11 with matplotlib, numpy, pandas, ipython) so run_code can draw charts; pinned to the
# @cloudflare/sandbox version in package.json — keep the two in step.
FROM docker.io/cloudflare/sandbox:0.12.10-python

# Preview URLs: ports a server in the sandbox may listen on (wrangler dev needs them exposed).
EXPOSE 8000 8080 8123
