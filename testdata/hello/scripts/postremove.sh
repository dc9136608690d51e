#!/bin/sh
set -e
# Records that it ran, with its arguments, where the test can see it.
echo "postremove $*" >> "${DPKG_ROOT:-}/var/log/hello-packhouse-scripts.log"
