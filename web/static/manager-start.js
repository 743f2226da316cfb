// Starts the manager console once every section script has registered.
'use strict';

window.carebotManager.start();
