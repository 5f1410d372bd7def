# frozen_string_literal: true

# Stands in for the `ipaddress_2` gem, which Debian does not package. Only
# validations/requests.rb requires it, and that file uses no constant of it (it scans for
# http:// URLs with URI.regexp). ipaddress_2 is a fork of the `ipaddress` gem with the same
# `IPAddress` API, which Debian packages as ruby-ipaddress, so this loads that one.
require 'ipaddress'
