# frozen_string_literal: true

# Runs Zendesk's own app validator, the `zendesk_apps_support` gem, on app folders:
#
#   ruby validate.rb --gem GEM_DIR [--marketplace|--private] DIR [[--marketplace|--private] DIR ...]
#
# GEM_DIR is a checkout of github.com/zendesk/zendesk_apps_support (the folder holding lib/ and
# config/); ZENDESK_APPS_SUPPORT_DIR may name it instead of --gem. Each DIR is validated with
# `ZendeskAppsSupport::Package.new(DIR).validate(marketplace: ...)` (package.rb), the call
# Zendesk's upload makes: --marketplace (the gem's default) also runs validations/marketplace.rb
# (no symlinks, no experiments), --private does not. The mode applies to the DIRs after it.
#
# Prints, per folder, `== DIR (MODE)`, then `error: KEY: MESSAGE` per error and
# `warning: KEY: MESSAGE` per warning (the gem's warnings are translated sentences; KEY is the
# one of the gem's config/locales/en.yml whose text the sentence is) and a `verdict:` line.
# Each folder is validated in a temporary copy, since validations/svg.rb rewrites the SVGs it
# cleans. Exits 1 if any folder has an error or a warning, 2 on bad usage.
#
# Dependencies, all Debian packages: ruby, ruby-i18n, ruby-erubis, ruby-marcel and
# ruby-ipaddress; ruby-nokogiri and ruby-loofah for an app with SVG assets. Not needed for an
# iframe (v2) app, so not installed: ruby-sass and ruby-sassc (the stylesheets of v1 apps) and
# the image_size gem (only for an assets/banner.png; Debian does not package it).
# shims/ipaddress_2.rb stands in for the ipaddress_2 gem, which Debian does not package; see
# its comment.
# `cargo xtask test --only app` installs these and runs this script.

gem_dir = ENV['ZENDESK_APPS_SUPPORT_DIR']
jobs = []
marketplace = true
args = ARGV.dup
until args.empty?
  arg = args.shift
  case arg
  when '--gem' then gem_dir = args.shift
  when '--marketplace' then marketplace = true
  when '--private' then marketplace = false
  when /\A-/ then warn("validate.rb: unknown option #{arg}") || exit(2)
  else jobs << [arg, marketplace]
  end
end
if gem_dir.nil? || jobs.empty?
  warn 'usage: ruby validate.rb --gem GEM_DIR [--marketplace|--private] DIR ...'
  exit 2
end
unless File.file?(File.join(gem_dir, 'lib', 'zendesk_apps_support.rb'))
  warn "validate.rb: #{gem_dir} holds no lib/zendesk_apps_support.rb"
  exit 2
end

$LOAD_PATH.unshift(File.join(__dir__, 'shims'))
$LOAD_PATH.unshift(File.join(File.expand_path(gem_dir), 'lib'))
# The gem targets Ruby >= 3.2, where Set is loaded by default; Debian 12's ruby is 3.1.
require 'set'
require 'fileutils'
require 'tmpdir'
require 'stringio' # validations/mime.rb uses StringIO without requiring it
# Files are read as UTF-8 whatever the locale (under LANG=C Ruby reads US-ASCII, and a regex
# over a non-ASCII byte raises).
Encoding.default_external = Encoding::UTF_8
require 'zendesk_apps_support'

# The gem's warnings are translated sentences; find the key of each from its own locale file
# (config/locales/en.yml), so that they compare with check-app's by key.
def warning_keys
  require 'yaml'
  en = YAML.load_file(File.join(ZendeskAppsSupport::I18n.send(:locale_files).grep(%r{/en\.yml\z}).first))
  found = []
  walk = lambda do |node, path|
    if node.is_a?(Hash)
      node.each { |k, v| walk.call(v, path + [k.to_s]) }
    elsif node.is_a?(String)
      key = path.drop(1).join('.').sub(/\.(one|other|zero)\z/, '')
      parts = node.strip.split(/%\{\w+\}/, -1).map { |p| Regexp.escape(p) }
      found << [key, Regexp.new("\\A#{parts.join('.*?')}\\z", Regexp::MULTILINE)]
    end
  end
  walk.call(en, [])
  # Warnings first, then the errors some warnings are worded with (secure settings).
  found.select { |k, _| k.include?('.warning.') } + found.reject { |k, _| k.include?('.warning.') }
end

def warning_key(keys, sentence)
  key, = keys.find { |_, re| re.match?(sentence.strip) }
  key ? key.sub(/\Atxt\.apps\.admin\.(warning|error)\.app_build\./, '') : 'unknown'
end

keys = warning_keys
failed = false
jobs.each do |dir, market|
  unless File.directory?(dir)
    warn "validate.rb: #{dir} is not a folder"
    exit 2
  end
  mode = market ? 'marketplace' : 'private'
  # validations/svg.rb rewrites the SVGs it sanitises: validate a copy (symlinks kept).
  Dir.mktmpdir('zendesk-validate') do |copy|
    FileUtils.cp_r(File.join(dir, '.'), copy)
    package = ZendeskAppsSupport::Package.new(copy)
    errors = package.validate(marketplace: market)
    puts "== #{dir} (#{mode})"
    errors.each do |e|
      key = e.respond_to?(:key) ? "#{e.key}: " : ''
      puts "error: #{key}#{e}"
    end
    package.warnings.each { |w| puts "warning: #{warning_key(keys, w)}: #{w}" }
    puts "verdict: #{errors.size} error(s), #{package.warnings.size} warning(s)"
    failed ||= errors.any? || package.warnings.any?
  end
end
exit(failed ? 1 : 0)
